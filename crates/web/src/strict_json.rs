//! JSON request bodies are read into typed inputs through `Strict`, which refuses an array where an object (a
//! struct) is expected. serde's derived structs also accept their fields as a sequence (`"requester": [null, null]`
//! reads as a requester with no fields), which no client means and the OpenAPI document does not allow. Everything
//! else is `serde_json::Value`'s own deserializer.

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A parsed JSON value that deserializes structs from objects only, at every depth.
pub struct Strict(pub Value);

type Error = serde_json::Error;

struct StrictSeq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for StrictSeq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        self.0.next().map(|v| seed.deserialize(Strict(v))).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct StrictMap {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for StrictMap {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(k.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let v = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value without its key"))?;
        seed.deserialize(Strict(v))
    }
}

fn visit_map<'de, V: Visitor<'de>>(m: Map<String, Value>, visitor: V) -> Result<V::Value, Error> {
    visitor.visit_map(StrictMap {
        entries: m.into_iter(),
        value: None,
    })
}

impl<'de> Deserializer<'de> for Strict {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(a) => visitor.visit_seq(StrictSeq(a.into_iter())),
            Value::Object(m) => visit_map(m, visitor),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Strict(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(a) => visitor.visit_seq(StrictSeq(a.into_iter())),
            other => other.deserialize_seq(visitor),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(m) => visit_map(m, visitor),
            other => other.deserialize_map(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(m) => visit_map(m, visitor),
            Value::Array(_) => Err(de::Error::invalid_type(de::Unexpected::Seq, &"an object")),
            other => other.deserialize_map(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit unit_struct
        tuple tuple_struct identifier
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        email: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        inner: Option<Inner>,
        list: Option<Vec<Inner>>,
        tags: Option<Vec<String>>,
        #[serde(default)]
        n: Option<i64>,
    }

    fn read(v: Value) -> Result<Outer, Error> {
        Outer::deserialize(Strict(v))
    }

    #[test]
    fn objects_read_as_before() {
        let o =
            read(json!({"inner": {"email": "a@b"}, "list": [{"email": null}], "tags": ["x"], "n": 3, "extra": [1]}))
                .unwrap();
        assert_eq!(
            o.inner,
            Some(Inner {
                email: Some("a@b".into())
            })
        );
        assert_eq!(o.list, Some(vec![Inner { email: None }]));
        assert_eq!(o.tags, Some(vec!["x".to_owned()]));
        assert_eq!(o.n, Some(3));
        assert_eq!(read(json!({"inner": null})).unwrap().inner, None);
    }

    #[test]
    fn arrays_are_no_structs_at_any_depth() {
        // Plain serde_json takes these as structs; Strict does not.
        assert!(Outer::deserialize(json!({"inner": [null]})).is_ok());
        assert!(read(json!({"inner": [null]})).is_err());
        assert!(read(json!({"list": [[null]]})).is_err());
        assert!(read(json!([null, null, null, null])).is_err());
        assert!(read(json!({"n": "3"})).is_err());
    }
}
