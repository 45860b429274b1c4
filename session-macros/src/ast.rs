//! The struct the derive was put on, reduced to what expansion needs.

use syn::{Data, DeriveInput, Fields, Generics, Ident, Type};

use crate::attr;
use crate::ctxt::Ctxt;

pub struct Container<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub attrs: attr::Container,
    pub fields: Vec<Field<'a>>,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub attrs: attr::Field,
}

impl<'a> Container<'a> {
    /// `None` when the input is no struct with named fields; the reason is recorded in `cx`.
    pub fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let attrs = attr::Container::from_attrs(cx, &input.attrs);
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => &named.named,
                Fields::Unnamed(_) => {
                    cx.error_spanned_by(&data.fields, "Session cannot be derived for a tuple struct: each stored value needs a field name");
                    return None;
                }
                Fields::Unit => {
                    cx.error_spanned_by(
                        &input.ident,
                        "Session cannot be derived for a unit struct: it has nothing to store",
                    );
                    return None;
                }
            },
            Data::Enum(data) => {
                cx.error_spanned_by(data.enum_token, "Session cannot be derived for an enum: use a struct with named fields, and put the enum in a field");
                return None;
            }
            Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    "Session cannot be derived for a union: use a struct with named fields",
                );
                return None;
            }
        };
        let fields = fields
            .iter()
            .map(|field| Field {
                ident: field.ident.as_ref().expect("named fields have names"),
                ty: &field.ty,
                attrs: attr::Field::from_attrs(cx, &field.attrs),
            })
            .collect();
        Some(Container { ident: &input.ident, generics: &input.generics, attrs, fields })
    }
}

impl Field<'_> {
    /// The name the field is stored under, inside its namespace.
    pub fn stored_name(&self) -> String {
        match &self.attrs.rename {
            Some(rename) => rename.value(),
            None => unraw(self.ident),
        }
    }
}

/// An identifier as written, without a raw `r#` prefix.
pub fn unraw(ident: &Ident) -> String {
    let name = ident.to_string();
    name.strip_prefix("r#").map(str::to_owned).unwrap_or(name)
}
