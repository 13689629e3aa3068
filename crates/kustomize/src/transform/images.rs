//! The images field: new names, tags and digests for matching container images.
//!
//! kustomize looks in two places: every `containers`/`initContainers` list anywhere in any
//! object (its "legacy" walk), then the image field specs (default and custom configurations).

use regex::Regex;
use serde_json::Value;

use super::{apply_specs, TransformError};
use crate::fieldspec::{CreateKind, FieldSpec};
use crate::resource::Resource;

/// One `images:` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageOverride {
    /// The image name to match.
    pub name: String,
    /// Replacement name.
    pub new_name: String,
    /// Replacement tag.
    pub new_tag: String,
    /// Replacement digest.
    pub digest: String,
}

fn text(v: &Value, k: &str) -> Result<String, TransformError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(TransformError::Invalid(format!(
            "invalid Kustomization: json: cannot unmarshal {} into Go struct field Image.images.{k} of type string",
            if other.is_number() { "number" } else { "value" }
        ))),
    }
}

impl ImageOverride {
    /// Reads an `images:` entry.
    pub fn from_value(v: &Value) -> Result<ImageOverride, TransformError> {
        Ok(ImageOverride {
            name: text(v, "name")?,
            new_name: text(v, "newName")?,
            new_tag: text(v, "newTag")?,
            digest: text(v, "digest")?,
        })
    }
}

/// Splits `name[:tag][@digest]` the way kustomize does (a registry port is not a tag).
pub fn split(image: &str) -> (String, String, String) {
    let slash = match image.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let search = &image[slash..];
    let id = search.find('@').map(|i| i + slash);
    let ic = search.find(':').map(|i| i + slash);
    match (ic, id) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        // A digest, with no tag before it.
        (None, Some(id)) => (
            image[..id].to_string(),
            String::new(),
            image[id + 1..].to_string(),
        ),
        (Some(ic), Some(id)) if id < ic => (
            image[..id].to_string(),
            String::new(),
            image[id + 1..].to_string(),
        ),
        (Some(ic), Some(id)) => (
            image[..ic].to_string(),
            image[ic + 1..id].to_string(),
            image[id + 1..].to_string(),
        ),
        (Some(ic), None) => (
            image[..ic].to_string(),
            image[ic + 1..].to_string(),
            String::new(),
        ),
    }
}

struct Matcher {
    re: Option<Regex>,
    o: ImageOverride,
}

impl Matcher {
    fn new(o: &ImageOverride) -> Matcher {
        // The name is used as a regular expression, unescaped, as kustomize does.
        let re = Regex::new(&format!(
            "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
            o.name
        ))
        .ok();
        Matcher { re, o: o.clone() }
    }

    fn update(&self, v: &mut Value) -> Result<(), TransformError> {
        let Value::String(s) = v else {
            return Ok(());
        };
        if !self.re.as_ref().is_some_and(|re| re.is_match(s)) {
            return Ok(());
        }
        let (mut name, mut tag, mut digest) = split(s);
        if !self.o.new_name.is_empty() {
            name = self.o.new_name.clone();
        }
        if !self.o.new_tag.is_empty() && !self.o.digest.is_empty() {
            tag = self.o.new_tag.clone();
            digest = self.o.digest.clone();
        } else if !self.o.new_tag.is_empty() {
            tag = self.o.new_tag.clone();
            digest.clear();
        } else if !self.o.digest.is_empty() {
            tag.clear();
            digest = self.o.digest.clone();
        }
        if !tag.is_empty() {
            name = format!("{name}:{tag}");
        }
        if !digest.is_empty() {
            name = format!("{name}@{digest}");
        }
        *v = Value::String(name);
        Ok(())
    }

    fn legacy_walk(&self, v: &mut Value) -> Result<(), TransformError> {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    if (k == "containers" || k == "initContainers") && child.is_array() {
                        if let Value::Array(items) = child {
                            for item in items.iter_mut() {
                                if let Some(img) = item.get_mut("image") {
                                    self.update(img)?;
                                }
                            }
                        }
                    } else {
                        self.legacy_walk(child)?;
                    }
                }
                Ok(())
            }
            Value::Array(items) => {
                for i in items {
                    self.legacy_walk(i)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Applies one `images:` entry to every resource.
pub fn run(
    resources: &mut [Resource],
    o: &ImageOverride,
    specs: &[FieldSpec],
) -> Result<(), TransformError> {
    let m = Matcher::new(o);
    for r in resources.iter_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        m.legacy_walk(&mut r.obj)?;
        apply_specs(r, specs, CreateKind::None, &mut |v: &mut Value| m.update(v))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_kustomize() {
        let s = |x: &str| split(x);
        assert_eq!(s("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(s("nginx:1.2"), ("nginx".into(), "1.2".into(), "".into()));
        assert_eq!(
            s("reg:5000/a/b:1@sha256:ab"),
            ("reg:5000/a/b".into(), "1".into(), "sha256:ab".into())
        );
        assert_eq!(
            s("a@sha256:ab"),
            ("a".into(), "".into(), "sha256:ab".into())
        );
    }
}
