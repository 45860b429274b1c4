//! Checks on the parsed struct that parsing alone cannot make. All run, so every problem is
//! reported in one compile.

use std::collections::HashMap;

use syn::GenericParam;

use crate::ast::{Container, Field};
use crate::attr::Default;
use crate::ctxt::Ctxt;

pub fn check(cx: &Ctxt, container: &Container) {
    check_namespace(cx, container);
    check_generics(cx, container);
    check_fields(cx, &container.fields);
}

fn check_namespace(cx: &Ctxt, container: &Container) {
    let Some(namespace) = &container.attrs.namespace else { return };
    let value = namespace.value();
    if value.is_empty() {
        cx.error_spanned_by(namespace, "the session namespace must not be empty");
    } else if value.contains('.') {
        cx.error_spanned_by(namespace, "the session namespace must not contain `.`: it separates the namespace from the field in stored keys");
    } else if value.starts_with("__") {
        cx.error_spanned_by(
            namespace,
            "the session namespace must not start with `__`: such keys are reserved",
        );
    }
}

fn check_generics(cx: &Ctxt, container: &Container) {
    for param in &container.generics.params {
        if let GenericParam::Lifetime(lifetime) = param {
            cx.error_spanned_by(lifetime, "Session cannot be derived for a struct with a lifetime: session data outlives the request, so it must own its fields");
        }
    }
}

fn check_fields(cx: &Ctxt, fields: &[Field]) {
    let mut seen: HashMap<String, &syn::Ident> = HashMap::new();
    for field in fields {
        if let Some(skip) = &field.attrs.skip {
            if field.attrs.rename.is_some() {
                cx.error_spanned_by(
                    skip,
                    "`skip` and `rename` conflict: a skipped field is never stored",
                );
            }
            if let Some(default) = &field.attrs.default {
                let tokens = match default {
                    Default::Type(path) => quote::quote!(#path),
                    Default::Path(path) => quote::quote!(#path),
                };
                cx.error_spanned_by(tokens, "`skip` and `default` conflict: a skipped field always takes the struct's default");
            }
            continue;
        }
        let name = field.stored_name();
        if let Some(rename) = &field.attrs.rename {
            if name.is_empty() {
                cx.error_spanned_by(rename, "a stored field name must not be empty");
            }
        }
        if let Some(other) = seen.insert(name.clone(), field.ident) {
            let message =
                format!("field `{}` is stored under `{name}`, like field `{other}`", field.ident);
            match &field.attrs.rename {
                Some(rename) => cx.error_spanned_by(rename, message),
                None => cx.error_spanned_by(field.ident, message),
            }
        }
    }
}
