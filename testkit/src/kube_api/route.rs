//! From a request target to what it names: a discovery document, or a resource (its
//! collection, one object, or a subresource of it), as the API server lays out its paths
//! (`/api/v1/namespaces/<ns>/<plural>/<name>/<sub>`, `/apis/<group>/<version>/...`).

use super::discovery::ResourceType;

pub(super) enum Route {
    /// `GET /api`
    CoreVersions,
    /// `GET /apis`
    Groups,
    /// `GET /api/v1`, `/apis/<group>/<version>`
    Resources {
        group: String,
        version: String,
    },
    Resource(Target),
    /// Nothing is served there.
    Unknown,
}

/// A resource path.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub rt: ResourceType,
    /// Set for namespaced paths; a namespaced collection without one lists every namespace.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

impl Target {
    /// `plural[.group][/sub]`: how the request log and faults name what was asked for.
    pub fn resource(&self) -> String {
        match &self.sub {
            Some(sub) => format!("{}/{sub}", self.rt.group_resource()),
            None => self.rt.group_resource(),
        }
    }
}

pub(super) fn route(path: &str, types: &[ResourceType]) -> Route {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api"] => return Route::CoreVersions,
        ["apis"] => return Route::Groups,
        ["api", version] => {
            return Route::Resources {
                group: String::new(),
                version: (*version).to_owned(),
            };
        }
        ["apis", group, version] => {
            return Route::Resources {
                group: (*group).to_owned(),
                version: (*version).to_owned(),
            };
        }
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Route::Unknown,
    };
    let lookup = |plural: &str| {
        types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
    };
    // `namespaces/<ns>/<plural>/...` when <plural> is namespaced; otherwise the path is
    // cluster-scoped, and `namespaces/<name>[/status]` is a Namespace itself.
    let (rt, namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..] if lookup(plural).is_some_and(|t| t.namespaced) => {
            (lookup(plural), Some((*ns).to_owned()), tail)
        }
        [plural, tail @ ..] => (lookup(plural), None, tail),
        [] => return Route::Unknown,
    };
    let Some(rt) = rt else {
        return Route::Unknown;
    };
    let (name, sub) = match rest {
        [] => (None, None),
        [name] => (Some(*name), None),
        [name, sub] if rt.subresources.contains(sub) => (Some(*name), Some(*sub)),
        _ => return Route::Unknown,
    };
    // A namespaced kind's objects are reached through their namespace only.
    if rt.namespaced && namespace.is_none() && name.is_some() {
        return Route::Unknown;
    }
    Route::Resource(Target {
        rt: rt.clone(),
        namespace,
        name: name.map(str::to_owned),
        sub: sub.map(str::to_owned),
    })
}

/// `k=v&k2=v2` with `%XX` and `+` decoded; kube-rs starts its queries with `?&`
/// (kube-core@5.0.0:src/request.rs), so empty pairs are skipped.
pub(super) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::super::discovery::builtins;
    use super::*;

    /// resource, namespace, name, subresource
    type Parts = (String, Option<String>, Option<String>, Option<String>);

    fn target(path: &str) -> Option<Parts> {
        match route(path, &builtins()) {
            Route::Resource(t) => Some((t.resource(), t.namespace, t.name, t.sub)),
            _ => None,
        }
    }

    #[test]
    fn paths_name_resources_as_the_api_server_lays_them_out() {
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            target("/api/v1/namespaces/sample/pods/curl-0/exec"),
            Some(("pods/exec".into(), s("sample"), s("curl-0"), s("exec")))
        );
        assert_eq!(
            target("/api/v1/namespaces/istio-system"),
            Some(("namespaces".into(), None, s("istio-system"), None))
        );
        assert_eq!(
            target("/api/v1/namespaces/istio-system/status"),
            Some((
                "namespaces/status".into(),
                None,
                s("istio-system"),
                s("status")
            ))
        );
        assert_eq!(
            target("/apis/apps/v1/deployments"),
            Some(("deployments.apps".into(), None, None, None))
        );
        assert_eq!(target("/apis/apps/v1/deployments/x"), None, "namespaced");
        assert_eq!(target("/api/v1/namespaces/x/nodes/n"), None);
        assert_eq!(target("/api/v1/namespaces/x/pods/p/log"), None);
        assert_eq!(
            target("/apis/metallb.io/v1beta1/namespaces/x/ipaddresspools"),
            None
        );
    }

    #[test]
    fn queries_decode_as_kube_sends_them() {
        assert_eq!(
            query_pairs("&labelSelector=app+in+%28demo%2Cx%29&command=a&command=b"),
            [
                ("labelSelector".to_owned(), "app in (demo,x)".to_owned()),
                ("command".to_owned(), "a".to_owned()),
                ("command".to_owned(), "b".to_owned()),
            ]
        );
    }
}
