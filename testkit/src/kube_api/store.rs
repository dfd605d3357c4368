//! The stand-in's world: the served resources, the objects, the request log, the faults
//! and the exec scripts, behind one lock; and what each request does to them.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

use super::apply::{Write, check_schema, deep_merge, merge_patch};
use super::discovery::{self, ResourceType};
use super::exec::{ExecKey, Scripts};
use super::http::{Outcome, Request};
use super::route::{Route, Target, query_pairs, route};
use super::selector::Selector;
use super::{Fault, Recorded, Verb, status};

/// `(plural[.group], namespace or "", name)`.
type Key = (String, String, String);

/// The `creationTimestamp` of every object: a fixed time, so stored objects compare.
const CREATED: &str = "2026-01-01T00:00:00Z";

/// The namespaces a new cluster has.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

pub(super) struct Store {
    types: Vec<ResourceType>,
    objects: BTreeMap<Key, Value>,
    /// The last resourceVersion handed out.
    rv: u64,
    uids: u64,
    pub log: Vec<Recorded>,
    pub faults: Vec<Fault>,
    pub exec: Scripts,
    /// Reads a CRD written from now on takes to become Established.
    pub crd_delay: usize,
    /// CRD name → reads left before it is Established.
    crd_pending: HashMap<String, usize>,
}

type Answer = (u16, Value);

fn answer(status: Value) -> Answer {
    let code = status["code"].as_u64().unwrap_or(500) as u16;
    (code, status)
}

impl Store {
    pub fn new() -> Self {
        let mut store = Self {
            types: discovery::builtins(),
            objects: BTreeMap::new(),
            rv: 0,
            uids: 0,
            log: Vec::new(),
            faults: Vec::new(),
            exec: Scripts::default(),
            crd_delay: 0,
            crd_pending: HashMap::new(),
        };
        for ns in SYSTEM_NAMESPACES {
            store.seed(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                "status": {"phase": "Active"}}),
            );
        }
        store
    }

    // ------------------------------------------------------------ test-facing

    fn type_of(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
    }

    pub fn seed(&mut self, object: Value) -> Value {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let rt = self
            .type_of(api_version, kind)
            .unwrap_or_else(|| panic!("the stand-in serves no {api_version} {kind}"));
        let name = object["metadata"]["name"]
            .as_str()
            .expect("a seeded object has a name")
            .to_owned();
        let namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
        assert_eq!(
            rt.namespaced,
            namespace.is_some(),
            "{kind} {name}: a namespaced kind needs metadata.namespace, a cluster-scoped one has none"
        );
        let mut object = self.admit(&rt, namespace.as_deref(), object, true);
        self.after_write(&rt, &mut object);
        let key = (rt.group_resource(), namespace.unwrap_or_default(), name);
        self.objects.insert(key, object.clone());
        object
    }

    pub fn object(&self, resource: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        self.objects
            .get(&(
                resource.to_owned(),
                namespace.unwrap_or_default().to_owned(),
                name.to_owned(),
            ))
            .cloned()
    }

    pub fn objects(&self, resource: &str) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((r, _, _), _)| r == resource)
            .map(|(_, o)| o.clone())
            .collect()
    }

    pub fn set_status(
        &mut self,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
        status: Value,
    ) {
        let rv = self.next_rv();
        let key = (
            resource.to_owned(),
            namespace.unwrap_or_default().to_owned(),
            name.to_owned(),
        );
        let object = self
            .objects
            .get_mut(&key)
            .unwrap_or_else(|| panic!("no {resource} {namespace:?}/{name} to set the status of"));
        object["status"] = status;
        object["metadata"]["resourceVersion"] = json!(rv);
    }

    // ------------------------------------------------------------ requests

    pub fn handle(&mut self, request: &Request) -> Outcome {
        let (path, query) = request
            .target
            .split_once('?')
            .unwrap_or((&request.target, ""));
        let query = query_pairs(query);
        let mut record = Recorded {
            method: request.method.clone(),
            path: path.to_owned(),
            query: query.clone(),
            content_type: request.header("content-type").map(str::to_owned),
            bearer: request
                .header("authorization")
                .and_then(|a| a.strip_prefix("Bearer "))
                .map(str::to_owned),
            body: String::from_utf8_lossy(&request.body).into_owned(),
            verb: None,
            resource: None,
            namespace: None,
            name: None,
        };
        let target = match route(path, &self.types) {
            Route::CoreVersions => {
                return self.discovery(record, "api", Some(discovery::core_versions()));
            }
            Route::Groups => {
                let groups = discovery::group_list(&self.types);
                return self.discovery(record, "apis", Some(groups));
            }
            Route::Resources { group, version } => {
                let list = discovery::resource_list(&self.types, &group, &version);
                let gv = if group.is_empty() {
                    version
                } else {
                    format!("{group}/{version}")
                };
                return self.discovery(record, &gv, list);
            }
            Route::Unknown => {
                self.log.push(record);
                let (code, body) = answer(status::no_such_path());
                return Outcome::Json(code, body);
            }
            Route::Resource(target) => target,
        };
        record.resource = Some(target.resource());
        record.namespace = target.namespace.clone();
        record.name = target.name.clone();
        let verb = match verb_of(request, &target, &query) {
            Ok(verb) => verb,
            Err(refusal) => {
                self.log.push(record);
                let (code, body) = answer(refusal);
                return Outcome::Json(code, body);
            }
        };
        record.verb = Some(verb);
        let resource = target.resource();
        self.log.push(record);

        if let Some(fault) = self.faults.iter_mut().find(|f| {
            f.times > 0
                && f.verb == verb
                && f.resource == resource
                && f.name
                    .as_ref()
                    .is_none_or(|n| Some(n) == target.name.as_ref())
        }) {
            fault.times -= 1;
            let (code, body) = answer(fault.status.clone());
            return Outcome::Json(code, body);
        }

        if verb == Verb::Exec {
            return self.exec(&target, &query);
        }
        let (code, body) = self.serve(verb, &target, request, &query);
        Outcome::Json(code, body)
    }

    fn discovery(&mut self, mut record: Recorded, what: &str, document: Option<Value>) -> Outcome {
        record.verb = Some(Verb::Discover);
        record.resource = Some(what.to_owned());
        self.log.push(record);
        match document {
            Some(document) => Outcome::Json(200, document),
            None => {
                let (code, body) = answer(status::no_such_path());
                Outcome::Json(code, body)
            }
        }
    }

    fn exec(&mut self, target: &Target, query: &[(String, String)]) -> Outcome {
        let key = ExecKey {
            namespace: target.namespace.clone().unwrap_or_default(),
            pod: target.name.clone().unwrap_or_default(),
            container: param(query, "container").unwrap_or_default().to_owned(),
            argv: query
                .iter()
                .filter(|(k, _)| k == "command")
                .map(|(_, v)| v.clone())
                .collect(),
        };
        match self.exec.next(&key) {
            Some(reply) => Outcome::Exec(reply),
            None => {
                let (code, body) = answer(status::internal_error(&format!(
                    "the API stand-in has no exec script for {key:?}; scripted: {:?}",
                    self.exec.keys()
                )));
                Outcome::Json(code, body)
            }
        }
    }

    fn serve(
        &mut self,
        verb: Verb,
        target: &Target,
        request: &Request,
        query: &[(String, String)],
    ) -> Answer {
        let writes = matches!(
            verb,
            Verb::Create | Verb::Update | Verb::Patch | Verb::Apply | Verb::Delete
        );
        if writes && param(query, "dryRun").is_some() {
            return answer(status::bad_request(
                "the API stand-in does not implement dryRun",
            ));
        }
        let body = if matches!(
            verb,
            Verb::Create | Verb::Update | Verb::Patch | Verb::Apply
        ) {
            match parse_body(&request.body) {
                Ok(body) => body,
                Err(refusal) => return answer(refusal),
            }
        } else {
            Value::Null
        };
        let strict = param(query, "fieldValidation") == Some("Strict");
        match verb {
            Verb::Get => self.get(target),
            Verb::List => self.list(target, query),
            Verb::Create => self.create(target, body, strict),
            Verb::Update => self.update(target, body, strict),
            Verb::Patch => {
                let content_type = request.header("content-type").unwrap_or_default();
                if content_type.starts_with("application/json-patch+json") {
                    return answer(status::unsupported_media_type(content_type));
                }
                self.patch(target, body, strict)
            }
            Verb::Apply => {
                if param(query, "fieldManager").is_none_or(str::is_empty) {
                    return answer(status::bad_request(
                        "PATCH, application/apply-patch+yaml requests require fieldManager",
                    ));
                }
                self.apply(target, body)
            }
            Verb::Delete => self.delete(target),
            Verb::Discover | Verb::Exec => unreachable!("answered before"),
        }
    }

    // ------------------------------------------------------------ verbs

    fn key(target: &Target, name: &str) -> Key {
        (
            target.rt.group_resource(),
            target.namespace.clone().unwrap_or_default(),
            name.to_owned(),
        )
    }

    fn not_found(target: &Target, name: &str) -> Answer {
        answer(status::not_found(&target.rt.group, &target.rt.plural, name))
    }

    fn get(&mut self, target: &Target) -> Answer {
        let name = target.name.as_deref().expect("a get names an object");
        if target.rt.group_resource() == "customresourcedefinitions.apiextensions.k8s.io" {
            self.crd_read(name);
        }
        match self.objects.get(&Self::key(target, name)) {
            Some(object) => (200, object.clone()),
            None => Self::not_found(target, name),
        }
    }

    fn list(&self, target: &Target, query: &[(String, String)]) -> Answer {
        if param(query, "fieldSelector").is_some_and(|s| !s.is_empty()) {
            return answer(status::bad_request(
                "the API stand-in does not implement fieldSelector",
            ));
        }
        let selector = match Selector::parse(param(query, "labelSelector").unwrap_or_default()) {
            Ok(selector) => selector,
            Err(e) => {
                return answer(status::bad_request(&format!(
                    "unable to parse requirement: {e}"
                )));
            }
        };
        let resource = target.rt.group_resource();
        let items: Vec<Value> = self
            .objects
            .iter()
            .filter(|((r, ns, _), _)| {
                *r == resource && target.namespace.as_ref().is_none_or(|want| want == ns)
            })
            .map(|(_, object)| object)
            .filter(|object| selector.matches(&object["metadata"]["labels"]))
            .cloned()
            .collect();
        (
            200,
            json!({
                "kind": format!("{}List", target.rt.kind),
                "apiVersion": target.rt.api_version(),
                "metadata": {"resourceVersion": self.rv.to_string()},
                "items": items,
            }),
        )
    }

    fn create(&mut self, target: &Target, body: Value, strict: bool) -> Answer {
        if target.sub.is_some() {
            return answer(status::method_not_supported(
                &target.rt.group,
                &target.resource(),
                "create",
            ));
        }
        if let Err(refusal) = check_type(target, &body) {
            return answer(refusal);
        }
        let Some(name) = body["metadata"]["name"].as_str().map(str::to_owned) else {
            return answer(status::invalid(
                &target.rt.group,
                &target.rt.kind,
                "",
                &[(
                    "metadata.name".into(),
                    "Required value: name or generateName is required".into(),
                )],
            ));
        };
        if let Err(refusal) = self.check_namespace(target, &body) {
            return answer(refusal);
        }
        let key = Self::key(target, &name);
        if self.objects.contains_key(&key) {
            return answer(status::already_exists(
                &target.rt.group,
                &target.rt.plural,
                &name,
            ));
        }
        if let Err(refusal) = check_schema(
            &target.rt,
            target.namespace.as_deref(),
            &name,
            &body,
            Write::Other { strict },
        ) {
            return answer(refusal);
        }
        let mut object = self.admit(&target.rt, target.namespace.as_deref(), body, false);
        self.after_write(&target.rt, &mut object);
        self.objects.insert(key, object.clone());
        (201, object)
    }

    fn update(&mut self, target: &Target, body: Value, strict: bool) -> Answer {
        let name = target.name.as_deref().expect("an update names an object");
        let key = Self::key(target, name);
        let Some(current) = self.objects.get(&key).cloned() else {
            return Self::not_found(target, name);
        };
        if let Err(refusal) = check_type(target, &body).and_then(|()| check_name(&body, name)) {
            return answer(refusal);
        }
        let sent_rv = body["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default();
        if !sent_rv.is_empty() && Some(sent_rv) != current["metadata"]["resourceVersion"].as_str() {
            return answer(status::conflict(&target.rt.group, &target.rt.plural, name));
        }
        let next = if target.sub.is_some() {
            let mut next = current.clone();
            next["status"] = body["status"].clone();
            next
        } else {
            let mut next = body;
            keep_server_fields(&mut next, &current, target.rt.has_status());
            if let Err(refusal) = check_schema(
                &target.rt,
                target.namespace.as_deref(),
                name,
                &next,
                Write::Other { strict },
            ) {
                return answer(refusal);
            }
            next
        };
        self.store_existing(target, key, next, &current)
    }

    fn patch(&mut self, target: &Target, patch: Value, strict: bool) -> Answer {
        let name = target.name.as_deref().expect("a patch names an object");
        let key = Self::key(target, name);
        let Some(current) = self.objects.get(&key).cloned() else {
            return Self::not_found(target, name);
        };
        let mut next = current.clone();
        merge_patch(&mut next, patch);
        let next = if target.sub.is_some() {
            let mut only_status = current.clone();
            only_status["status"] = next["status"].take();
            only_status
        } else {
            keep_server_fields(&mut next, &current, target.rt.has_status());
            if let Err(refusal) = check_schema(
                &target.rt,
                target.namespace.as_deref(),
                name,
                &next,
                Write::Other { strict },
            ) {
                return answer(refusal);
            }
            next
        };
        self.store_existing(target, key, next, &current)
    }

    fn apply(&mut self, target: &Target, mut body: Value) -> Answer {
        let name = target.name.as_deref().expect("an apply names an object");
        if let Err(refusal) = check_type(target, &body)
            .and_then(|()| check_name(&body, name))
            .and_then(|()| check_namespace_field(target, &body))
        {
            return answer(refusal);
        }
        let key = Self::key(target, name);
        let current = self.objects.get(&key).cloned();
        if target.sub.is_some() {
            let Some(current) = current else {
                return Self::not_found(target, name);
            };
            let mut next = current.clone();
            deep_merge(&mut next["status"], body["status"].take());
            return self.store_existing(target, key, next, &current);
        }
        if let Err(refusal) = check_schema(
            &target.rt,
            target.namespace.as_deref(),
            name,
            &body,
            Write::Apply,
        ) {
            return answer(refusal);
        }
        match current {
            None => {
                if let Err(refusal) = self.check_namespace(target, &body) {
                    return answer(refusal);
                }
                let mut object = self.admit(&target.rt, target.namespace.as_deref(), body, false);
                self.after_write(&target.rt, &mut object);
                self.objects.insert(key, object.clone());
                (201, object)
            }
            Some(current) => {
                if let Some(metadata) = body["metadata"].as_object_mut() {
                    for owned in SERVER_OWNED {
                        metadata.remove(owned);
                    }
                }
                if target.rt.has_status() {
                    strip(&mut body, "status");
                }
                let mut next = current.clone();
                deep_merge(&mut next, body);
                self.store_existing(target, key, next, &current)
            }
        }
    }

    fn delete(&mut self, target: &Target) -> Answer {
        let name = target.name.as_deref().expect("a delete names an object");
        if target.sub.is_some() {
            return answer(status::method_not_supported(
                &target.rt.group,
                &target.resource(),
                "delete",
            ));
        }
        let Some(removed) = self.objects.remove(&Self::key(target, name)) else {
            return Self::not_found(target, name);
        };
        match target.rt.group_resource().as_str() {
            "namespaces" => self.objects.retain(|(_, ns, _), _| ns != name),
            "customresourcedefinitions.apiextensions.k8s.io" => {
                let group = removed["spec"]["group"].as_str().unwrap_or_default();
                let plural = removed["spec"]["names"]["plural"]
                    .as_str()
                    .unwrap_or_default();
                let resource = format!("{plural}.{group}");
                self.types
                    .retain(|t| !(t.group == group && t.plural == plural));
                self.objects.retain(|(r, _, _), _| *r != resource);
                self.crd_pending.remove(name);
            }
            _ => {}
        }
        let mut details = json!({"name": name, "kind": target.rt.plural,
            "uid": removed["metadata"]["uid"].clone()});
        if !target.rt.group.is_empty() {
            details["group"] = json!(target.rt.group);
        }
        (
            200,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": details}),
        )
    }

    // ------------------------------------------------------------ what the server owns

    fn next_rv(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }

    /// A new object as the API server stores it: its namespace from the path, a uid, a
    /// resourceVersion, generation 1, the creation time; no status through the main
    /// resource of a kind with a status subresource.
    fn admit(
        &mut self,
        rt: &ResourceType,
        namespace: Option<&str>,
        mut object: Value,
        keep_status: bool,
    ) -> Value {
        self.uids += 1;
        let uid = format!("00000000-0000-4000-8000-{:012}", self.uids);
        let rv = self.next_rv();
        if !object["metadata"].is_object() {
            object["metadata"] = json!({});
        }
        let metadata = object["metadata"]
            .as_object_mut()
            .expect("made an object above");
        match namespace {
            Some(ns) if rt.namespaced => {
                metadata.insert("namespace".into(), json!(ns));
            }
            _ => {
                metadata.remove("namespace");
            }
        }
        metadata.insert("uid".into(), json!(uid));
        metadata.insert("resourceVersion".into(), json!(rv));
        metadata.insert("generation".into(), json!(1));
        metadata.insert("creationTimestamp".into(), json!(CREATED));
        if !keep_status && rt.has_status() {
            strip(&mut object, "status");
        }
        object
    }

    /// Stores the next state of an existing object: a new resourceVersion, and the next
    /// generation if anything outside metadata and status changed.
    fn store_existing(
        &mut self,
        target: &Target,
        key: Key,
        mut next: Value,
        current: &Value,
    ) -> Answer {
        let generation = current["metadata"]["generation"].as_i64().unwrap_or(1);
        let generation = if content(&next) == content(current) {
            generation
        } else {
            generation + 1
        };
        next["metadata"]["generation"] = json!(generation);
        next["metadata"]["resourceVersion"] = json!(self.next_rv());
        self.after_write(&target.rt, &mut next);
        self.objects.insert(key, next.clone());
        (200, next)
    }

    /// What the API server does to some kinds on every write.
    fn after_write(&mut self, rt: &ResourceType, object: &mut Value) {
        match rt.group_resource().as_str() {
            // stringData is write-only: it is merged into data
            // (kubernetes/kubernetes@v1.33.0:pkg/apis/core/v1/conversion.go
            // `Convert_v1_Secret_To_core_Secret`).
            "secrets" => {
                if let Some(Value::Object(string_data)) =
                    object.as_object_mut().and_then(|o| o.remove("stringData"))
                {
                    if !object["data"].is_object() {
                        object["data"] = json!({});
                    }
                    for (key, value) in string_data {
                        let text = value.as_str().unwrap_or_default();
                        object["data"][key] = json!(BASE64.encode(text));
                    }
                }
            }
            "customresourcedefinitions.apiextensions.k8s.io" => self.crd_written(object),
            _ => {}
        }
    }

    /// NamespaceLifecycle admission: a namespaced object needs its Namespace
    /// (kubernetes/kubernetes@v1.33.0:plugin/pkg/admission/namespace/lifecycle/admission.go).
    fn check_namespace(&self, target: &Target, body: &Value) -> Result<(), Value> {
        check_namespace_field(target, body)?;
        let Some(ns) = &target.namespace else {
            return Ok(());
        };
        if self
            .objects
            .contains_key(&("namespaces".to_owned(), String::new(), ns.clone()))
        {
            Ok(())
        } else {
            Err(status::not_found("", "namespaces", ns))
        }
    }

    // ------------------------------------------------------------ CRDs

    /// A CRD write: its kinds are served once it is Established, which happens at once,
    /// or after [`Store::crd_delay`] reads of it.
    fn crd_written(&mut self, crd: &mut Value) {
        let name = crd["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let established = crd["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Established" && c["status"] == "True");
        if established || (self.crd_delay == 0 && !self.crd_pending.contains_key(&name)) {
            crd["status"] = crd_status(crd, true);
            self.register(crd);
        } else {
            crd["status"] = crd_status(crd, false);
            self.crd_pending.entry(name).or_insert(self.crd_delay);
        }
    }

    fn crd_read(&mut self, name: &str) {
        let Some(left) = self.crd_pending.get_mut(name) else {
            return;
        };
        *left = left.saturating_sub(1);
        if *left > 0 {
            return;
        }
        self.crd_pending.remove(name);
        let key = (
            "customresourcedefinitions.apiextensions.k8s.io".to_owned(),
            String::new(),
            name.to_owned(),
        );
        let rv = self.next_rv();
        let Some(crd) = self.objects.get_mut(&key) else {
            return;
        };
        crd["status"] = crd_status(crd, true);
        crd["metadata"]["resourceVersion"] = json!(rv);
        let crd = crd.clone();
        self.register(&crd);
    }

    /// Serves every served version of the CRD's kind.
    fn register(&mut self, crd: &Value) {
        let spec = &crd["spec"];
        let group = spec["group"].as_str().unwrap_or_default();
        let names = &spec["names"];
        let plural = names["plural"].as_str().unwrap_or_default();
        self.types
            .retain(|t| !(t.group == group && t.plural == plural));
        for version in spec["versions"].as_array().into_iter().flatten() {
            if version["served"] == json!(false) {
                continue;
            }
            self.types.push(ResourceType {
                group: group.to_owned(),
                version: version["name"].as_str().unwrap_or_default().to_owned(),
                plural: plural.to_owned(),
                singular: names["singular"].as_str().unwrap_or_default().to_owned(),
                kind: names["kind"].as_str().unwrap_or_default().to_owned(),
                namespaced: spec["scope"] == "Namespaced",
                subresources: if version["subresources"]["status"].is_object() {
                    &["status"]
                } else {
                    &[]
                },
                schema: Some(version["schema"]["openAPIV3Schema"].clone()),
            });
        }
    }
}

/// The status the API server's CRD controllers write: NamesAccepted, then Established
/// "Installing" until the establishing controller marks it True
/// (kubernetes/kubernetes@v1.33.0:staging/src/k8s.io/apiextensions-apiserver/pkg/controller/status/naming_controller.go,
/// pkg/controller/establish/establishing_controller.go).
fn crd_status(crd: &Value, established: bool) -> Value {
    let (status, reason) = if established {
        ("True", "InitialNamesAccepted")
    } else {
        ("False", "Installing")
    };
    json!({
        "acceptedNames": crd["spec"]["names"].clone(),
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": CREATED},
            {"type": "Established", "status": status, "reason": reason,
             "message": "the initial names have been accepted", "lastTransitionTime": CREATED},
        ],
        "storedVersions": crd["spec"]["versions"].as_array().into_iter().flatten()
            .filter(|v| v["storage"] == json!(true))
            .map(|v| v["name"].clone())
            .collect::<Vec<_>>(),
    })
}

/// Metadata only the API server writes.
const SERVER_OWNED: [&str; 5] = [
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "namespace",
    "generation",
];

/// Puts the server-owned metadata (and, for kinds with a status subresource, the status)
/// of `current` back into `next`.
fn keep_server_fields(next: &mut Value, current: &Value, has_status: bool) {
    if !next["metadata"].is_object() {
        next["metadata"] = json!({});
    }
    for owned in SERVER_OWNED {
        match current["metadata"].get(owned) {
            Some(value) => next["metadata"][owned] = value.clone(),
            None => {
                if let Some(m) = next["metadata"].as_object_mut() {
                    m.remove(owned);
                }
            }
        }
    }
    if has_status {
        match current.get("status") {
            Some(status) => next["status"] = status.clone(),
            None => strip(next, "status"),
        }
    }
}

fn strip(object: &mut Value, key: &str) {
    if let Some(map) = object.as_object_mut() {
        map.remove(key);
    }
}

/// Everything but metadata and status: what a generation counts changes of.
fn content(object: &Value) -> Map<String, Value> {
    let mut content = object.as_object().cloned().unwrap_or_default();
    content.remove("metadata");
    content.remove("status");
    content
}

fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// JSON, or YAML (an apply body may be either).
fn parse_body(body: &[u8]) -> Result<Value, Value> {
    let value: Value = serde_json::from_slice(body)
        .or_else(|_| e2e::yaml::from_slice(body).map_err(|e| e.to_string()))
        .map_err(|e| status::bad_request(&format!("error decoding the request body: {e}")))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(status::bad_request("the request body is not an object"))
    }
}

fn check_type(target: &Target, body: &Value) -> Result<(), Value> {
    let (api_version, kind) = (target.rt.api_version(), &target.rt.kind);
    if body["apiVersion"] != json!(api_version) || body["kind"] != json!(kind) {
        return Err(status::bad_request(&format!(
            "the object's apiVersion and kind ({} {}) are not {api_version} {kind}, which the path serves",
            body["apiVersion"], body["kind"]
        )));
    }
    Ok(())
}

fn check_name(body: &Value, name: &str) -> Result<(), Value> {
    if body["metadata"]["name"] == json!(name) {
        Ok(())
    } else {
        Err(status::bad_request(
            "the name of the object does not match the name on the URL",
        ))
    }
}

/// `rest.EnsureObjectNamespaceMatchesRequestNamespace`: an object naming another
/// namespace than its path is refused.
fn check_namespace_field(target: &Target, body: &Value) -> Result<(), Value> {
    match (body["metadata"]["namespace"].as_str(), &target.namespace) {
        (Some(sent), Some(path)) if sent != path && target.rt.namespaced => {
            Err(status::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ))
        }
        _ => Ok(()),
    }
}

/// Which verb a request on a resource is, or why it is refused.
fn verb_of(request: &Request, target: &Target, query: &[(String, String)]) -> Result<Verb, Value> {
    let has_name = target.name.is_some();
    let method = request.method.as_str();
    if target.sub.as_deref() == Some("exec") {
        return if request.is_websocket_upgrade() {
            Ok(Verb::Exec)
        } else {
            Err(status::bad_request("Upgrade request required"))
        };
    }
    let unsupported =
        |action: &str| status::method_not_supported(&target.rt.group, &target.resource(), action);
    match (method, has_name) {
        ("GET", false) if param(query, "watch").is_some_and(|w| w == "true" || w == "1") => {
            Err(unsupported("watch"))
        }
        ("GET", false) => Ok(Verb::List),
        ("GET", true) => Ok(Verb::Get),
        ("POST", false) => Ok(Verb::Create),
        ("PUT", true) => Ok(Verb::Update),
        ("PATCH", true) => Ok(
            if request
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/apply-patch"))
            {
                Verb::Apply
            } else {
                Verb::Patch
            },
        ),
        ("DELETE", true) => Ok(Verb::Delete),
        (method, _) => Err(unsupported(&method.to_ascii_lowercase())),
    }
}
