//! Generates the `SessionData` implementation. Generated code names the library only through
//! `::rocket_typed_session::__private`, and the standard library only as `::std::…`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::DeriveInput;

use crate::ast::{unraw, Container, Field};
use crate::attr::Default;
use crate::check;
use crate::ctxt::{to_compile_errors, Ctxt};

/// The implementation of `SessionData` for `input`; with any error, the errors and a stand-in
/// implementation, so that the user sees the errors on their attributes and not a second one
/// on every route that takes the struct as a guard.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let container = Container::from_ast(&cx, input);
    if let Some(container) = &container {
        check::check(&cx, container);
    }
    // Only a struct that could hold session data gets a stand-in: for an enum, a union or a
    // borrowed struct, one would only add errors about what the first error already says.
    let could_hold_data = container.is_some() && input.generics.lifetimes().next().is_none();
    match (cx.check(), container) {
        (Ok(()), Some(container)) => implementation(&container),
        (Err(errors), _) => {
            let mut tokens = to_compile_errors(errors);
            if could_hold_data {
                tokens.extend(stand_in(input));
            }
            tokens
        }
        (Ok(()), None) => unreachable!("a container that failed to parse recorded an error"),
    }
}

/// An implementation that compiles whatever the attributes said and is never run: the
/// errors beside it stop the build.
fn stand_in(input: &DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let namespace = snake_case(&unraw(ident));
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::rocket_typed_session::__private::SessionData for #ident #ty_generics
        #where_clause
        {
            const NAMESPACE: &'static str = #namespace;

            fn decode(_: &::rocket_typed_session::__private::Fields<'_>) -> Self {
                ::std::unreachable!("the derive reported errors")
            }

            fn encode(
                &self,
                _: &mut ::rocket_typed_session::__private::FieldSink<'_>,
            ) -> ::std::result::Result<(), ::rocket_typed_session::__private::CodecError> {
                ::std::unreachable!("the derive reported errors")
            }
        }
    }
}

fn implementation(container: &Container) -> TokenStream {
    let ident = container.ident;
    let namespace = match &container.attrs.namespace {
        Some(namespace) => namespace.value(),
        None => snake_case(&unraw(ident)),
    };
    let stored: Vec<&Field> = container.fields.iter().filter(|f| f.attrs.skip.is_none()).collect();
    let decodes = stored.iter().map(|field| decode_field(&namespace, field));
    let encodes = stored.iter().map(|field| encode_field(&namespace, field));
    let (impl_generics, ty_generics, where_clause) = container.generics.split_for_impl();
    let where_clause = bounds(container, &stored, where_clause);
    quote! {
        #[automatically_derived]
        impl #impl_generics ::rocket_typed_session::__private::SessionData for #ident #ty_generics
        #where_clause
        {
            const NAMESPACE: &'static str = #namespace;

            fn decode(__fields: &::rocket_typed_session::__private::Fields<'_>) -> Self {
                let mut __value: Self = ::std::default::Default::default();
                #(#decodes)*
                __value
            }

            fn encode(
                &self,
                __sink: &mut ::rocket_typed_session::__private::FieldSink<'_>,
            ) -> ::std::result::Result<(), ::rocket_typed_session::__private::CodecError> {
                #(#encodes)*
                ::std::result::Result::Ok(())
            }
        }
    }
}

fn decode_field(namespace: &str, field: &Field) -> TokenStream {
    let member = field.ident;
    let ty = field.ty;
    let key = format!("{namespace}.{}", field.stored_name());
    let read = quote_spanned!(ty.span()=> __fields.value::<#ty>(#key));
    match &field.attrs.default {
        None => quote! {
            if let ::std::option::Option::Some(__v) = #read {
                __value.#member = __v;
            }
        },
        Some(Default::Type(path)) => quote_spanned! {path.span()=>
            __value.#member = #read.unwrap_or_default();
        },
        Some(Default::Path(path)) => quote_spanned! {path.span()=>
            __value.#member = #read.unwrap_or_else(#path);
        },
    }
}

fn encode_field(namespace: &str, field: &Field) -> TokenStream {
    let member = field.ident;
    let ty = field.ty;
    let key = format!("{namespace}.{}", field.stored_name());
    quote_spanned! {ty.span()=>
        __sink.value::<#ty>(#key, &self.#member)?;
    }
}

/// For a generic struct, requires what `SessionData` needs of the struct and every stored field
/// type to be serializable.
fn bounds(
    container: &Container,
    stored: &[&Field],
    where_clause: Option<&syn::WhereClause>,
) -> TokenStream {
    if container.generics.type_params().next().is_none() {
        return quote!(#where_clause);
    }
    let existing = where_clause.map(|w| {
        let predicates = &w.predicates;
        quote!(#predicates,)
    });
    let types = stored.iter().map(|field| field.ty);
    quote! {
        where #existing
        Self: ::std::default::Default + ::std::marker::Send + 'static,
        #(#types: ::rocket_typed_session::__private::serde::Serialize
            + ::rocket_typed_session::__private::serde::de::DeserializeOwned,)*
    }
}

/// `CartItems` → `cart_items`, `HTTPState` → `http_state`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn struct_names_become_snake_case_namespaces() {
        assert_eq!(snake_case("Cart"), "cart");
        assert_eq!(snake_case("CartItems"), "cart_items");
        assert_eq!(snake_case("HTTPState"), "http_state");
        assert_eq!(snake_case("Auth2Factor"), "auth2_factor");
        assert_eq!(snake_case("already_snake"), "already_snake");
    }
}
