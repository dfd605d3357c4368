//! Strings checked when they are made: cluster and network names, tool versions, image
//! references. Each is a newtype over `String` whose only constructor is `FromStr` (serde
//! goes through it too), so holding one means holding a value that passed its check.

/// Declares `pub struct $name(String)` whose values pass `$check`, a
/// `fn(&str) -> Result<(), String>` returning the reason a value is refused.
///
/// Gives `FromStr`, `Deserialize` through `FromStr` (a bad value is reported where it is
/// written), `Serialize` as the plain string, `Display`, `as_str` and `AsRef<str>`.
macro_rules! validated_string {
    ($(#[$meta:meta])* $vis:vis struct $name:ident, check = $check:expr;) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        $vis struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let check: fn(&str) -> Result<(), String> = $check;
                check(s).map(|()| Self(s.to_owned()))
            }
        }

        $crate::validated::deserialize_from_str!($name);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}
pub(crate) use validated_string;

/// serde's `Deserialize` through `FromStr` (with a `String` error), for every type whose
/// text form is its only form in our files.
macro_rules! deserialize_from_str {
    ($($ty:ty),* $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
pub(crate) use deserialize_from_str;

#[cfg(test)]
mod tests {
    validated_string!(
        /// Only `ok`.
        struct Word, check = |s| if s == "ok" { Ok(()) } else { Err(format!("`{s}` is not ok")) };
    );

    #[derive(serde::Deserialize, serde::Serialize)]
    struct Holder {
        word: Word,
    }

    #[test]
    fn only_checked_values_exist_whichever_way_they_come_in() {
        assert_eq!("ok".parse::<Word>().unwrap().as_str(), "ok");
        assert_eq!("no".parse::<Word>().unwrap_err(), "`no` is not ok");
        let err = toml::from_str::<Holder>("word = \"no\"").err().unwrap();
        assert!(err.to_string().contains("`no` is not ok"), "{err}");
        let held: Holder = toml::from_str("word = \"ok\"").unwrap();
        assert_eq!(held.word.to_string(), "ok");
        assert_eq!(
            serde_json::to_value(&held).unwrap(),
            serde_json::json!({"word": "ok"}),
            "serialized as the plain string"
        );
    }
}
