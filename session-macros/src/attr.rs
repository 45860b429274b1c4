//! The `#[session(...)]` attributes, parsed without judging their values (see `check`).

use syn::meta::ParseNestedMeta;
use syn::{Attribute, ExprPath, LitStr};

use crate::ctxt::Ctxt;

/// Attributes on the struct.
#[derive(Default)]
pub struct Container {
    pub namespace: Option<LitStr>,
}

/// Attributes on a field.
#[derive(Default)]
pub struct Field {
    pub rename: Option<LitStr>,
    pub skip: Option<syn::Path>,
    pub default: Option<Default>,
}

/// Where a missing field's value comes from.
pub enum Default {
    /// `default`: the field type's `Default`.
    Type(syn::Path),
    /// `default = "path"`: a function returning the value.
    Path(ExprPath),
}

impl Container {
    pub fn from_attrs(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut container = Container::default();
        for_each_meta(cx, attrs, |meta| {
            if meta.path.is_ident("namespace") {
                let value = meta.value()?.parse::<LitStr>()?;
                set_once(cx, meta, &mut container.namespace, value);
                Ok(())
            } else {
                Err(meta.error(unknown(meta, "on a struct; expected `namespace`")))
            }
        });
        container
    }
}

impl Field {
    pub fn from_attrs(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut field = Field::default();
        for_each_meta(cx, attrs, |meta| {
            if meta.path.is_ident("rename") {
                let value = meta.value()?.parse::<LitStr>()?;
                set_once(cx, meta, &mut field.rename, value);
            } else if meta.path.is_ident("skip") {
                set_once(cx, meta, &mut field.skip, meta.path.clone());
            } else if meta.path.is_ident("default") {
                let default = if meta.input.peek(syn::Token![=]) {
                    Default::Path(meta.value()?.parse::<LitStr>()?.parse::<ExprPath>()?)
                } else {
                    Default::Type(meta.path.clone())
                };
                set_once(cx, meta, &mut field.default, default);
            } else {
                return Err(
                    meta.error(unknown(meta, "on a field; expected `rename`, `skip` or `default`"))
                );
            }
            Ok(())
        });
        field
    }
}

/// Runs `f` on each item of every `#[session(...)]` attribute, recording errors and going on,
/// so that one compile reports every bad attribute.
fn for_each_meta(
    cx: &Ctxt,
    attrs: &[Attribute],
    mut f: impl FnMut(&ParseNestedMeta) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("session")) {
        let result = attr.parse_nested_meta(|meta| {
            if let Err(error) = f(&meta) {
                cx.syn_error(error);
                skip_value(&meta);
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
}

/// Consumes what is left of an item that failed (`= value`, or a value whose `=` was already
/// read), so parsing goes on to the next item without a second, misleading error.
fn skip_value(meta: &ParseNestedMeta) {
    if meta.input.peek(syn::Token![=]) {
        let _ = meta.input.parse::<syn::Token![=]>();
    }
    if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
        let _ = meta.input.parse::<syn::Expr>();
    }
}

fn set_once<T>(cx: &Ctxt, meta: &ParseNestedMeta, slot: &mut Option<T>, value: T) {
    if slot.is_some() {
        cx.error_spanned_by(
            &meta.path,
            format!("duplicate session attribute `{}`", path_name(meta)),
        );
    } else {
        *slot = Some(value);
    }
}

fn unknown(meta: &ParseNestedMeta, expected: &str) -> String {
    format!("unknown session attribute `{}` {expected}", path_name(meta))
}

fn path_name(meta: &ParseNestedMeta) -> String {
    let segments: Vec<String> = meta.path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}
