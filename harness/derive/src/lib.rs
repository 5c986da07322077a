//! `#[derive(Keys)]`: a scenario table's keys declared once, on the typed
//! struct the rest of mqsim reads.
//!
//! Each field carries a `#[key(...)]` attribute saying how the key is
//! written (its name, its kind, its default, the broker family it applies
//! to, the check that turns a TOML value into the field's value); its doc
//! comment is its one-line meaning. From that one declaration the derive
//! writes what used to be written by hand in four places:
//!
//! - `Raw<Name>`: the serde/schemars mirror of the table as written, which the
//!   JSON Schema is derived from;
//! - `<Name>::read` and `<Name>Keys::finish`: the validator's walk of the
//!   table, every error collected (`harness::scenario::validate`);
//! - `<Name>::render_keys`: the table written back as TOML
//!   (`harness::scenario::render`);
//! - `<Name>::keys()`: the rows of the scenario reference
//!   (docs/scenario-format.md) and the schema's descriptions.
//!
//! The grammar of `#[key(...)]`, one of the modes first:
//!
//! | mode | meaning |
//! |---|---|
//! | `default = EXPR` | absent: `EXPR` |
//! | `optional` or `optional = "TEXT"` | the field is `Option<T>`; absent: `None` (`TEXT` says what that means, e.g. `"none (unlimited)"`) |
//! | `required` | absent: an error |
//! | `computed = "TEXT"` | read and checked here; the table's rule code fills in the default (`TEXT` says what it is) and judges it against other fields |
//! | `by_hand = "TEXT"` | read by the table's own code (structured values such as `bursts`); `finish` takes it in `<Name>Rest` |
//! | `section` or `section = "TEXT"` | a sub-table (`raw = RawX`), read by the table's own code; with `TEXT` it has a row in the reference |
//! | `flatten` | the field is another `Keys` struct whose keys sit in this same table |
//! | `skip` | not a key: filled by the table's own code from other keys; `finish` takes it in `<Name>Rest` |
//!
//! then `kind = "integer" | "float" | "boolean" | "duration" | "rate" |
//! "latency range" | "string" | …` (how the reference names the type; it
//! also picks the raw type, `raw = TYPE` overrides it), `check = EXPR` (a
//! `fn(&toml::Value) -> Result<T, String>`), `log` or `queue` (with an
//! optional `why = "..."` that the error for the other family appends),
//! `name = "..."` (the key, when it is not the field's name) and
//! `render = PATH` (a `fn(&T) -> String` writing the value as TOML, when
//! `Toml::toml` does not fit).
//!
//! The struct's own `#[keys(table = "...")]` names the table (`""` for the
//! top level; `default` besides derives `Default` from the declared defaults); `#[keys(extra(name, raw, kind, default, doc))]` declares a
//! key read by hand that has no field of its own (the key skew's inputs).
//!
//! The generated code names `crate::scenario::…`: the derive is for the
//! `harness` crate's own tables. A `flatten` field's type must be a
//! `Keys` struct of the same table with neither `by_hand` nor `skip`
//! fields, whose `Raw…` and `…Keys` types are in scope.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote};
use syn::{parse_macro_input, Data, DeriveInput, Expr, Fields, Ident, LitStr, Type};

#[proc_macro_derive(Keys, attributes(key, keys))]
pub fn derive_keys(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

enum Mode {
    Default(Expr),
    Optional(Option<String>),
    Required,
    Computed(String),
    ByHand(String),
    /// A sub-table read by the table's own code; `Some(text)`: listed in
    /// the reference with `text` as its default.
    Section(Option<String>),
    Flatten,
    Skip,
}

struct Field {
    ident: Ident,
    ty: Type,
    name: String,
    kind: String,
    raw: Option<Type>,
    mode: Mode,
    check: Option<Expr>,
    family: Option<(Ident, String)>,
    render: Option<Expr>,
    doc: Vec<String>,
}

struct Extra {
    name: String,
    raw: Type,
    kind: String,
    default: String,
    doc: String,
}

fn doc_lines(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut out = Vec::new();
    for a in attrs {
        if !a.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &a.meta {
            if let Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
            {
                out.push(s.value());
            }
        }
    }
    out
}

/// The doc lines as one line (the reference's "meaning" column).
fn one_line(lines: &[String]) -> String {
    let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
    words.join(" ")
}

fn parse_field(f: &syn::Field) -> syn::Result<Field> {
    let ident = f.ident.clone().expect("named field");
    let mut name = ident
        .to_string()
        .trim_start_matches("r#")
        .trim_end_matches('_')
        .to_string();
    let mut kind = None;
    let mut raw = None;
    let mut mode = None;
    let mut check = None;
    let mut family: Option<Ident> = None;
    let mut why = String::new();
    let mut render = None;
    let mut seen = false;
    let mut given: Vec<String> = Vec::new();
    for a in &f.attrs {
        if !a.path().is_ident("key") {
            continue;
        }
        seen = true;
        a.parse_nested_meta(|m| {
            let set_mode = |mode: &mut Option<Mode>, m_: Mode| {
                if mode.is_some() {
                    return Err(syn::Error::new(
                        ident.span(),
                        "a key has one mode: default, optional, required, computed, by_hand, section, flatten or skip",
                    ));
                }
                *mode = Some(m_);
                Ok(())
            };
            let p = &m.path;
            let arg = p.get_ident().map(|i| i.to_string()).unwrap_or_default();
            if given.contains(&arg) {
                return Err(m.error(format!("#[key] gives `{arg}` twice")));
            }
            given.push(arg.clone());
            if (arg == "log" && given.iter().any(|g| g == "queue"))
                || (arg == "queue" && given.iter().any(|g| g == "log"))
            {
                return Err(m.error("a key applies to one broker family: `log` or `queue`, not both"));
            }
            if p.is_ident("default") {
                set_mode(&mut mode, Mode::Default(m.value()?.parse()?))
            } else if p.is_ident("optional") {
                let text = if m.input.peek(syn::Token![=]) {
                    let s: LitStr = m.value()?.parse()?;
                    Some(s.value())
                } else {
                    None
                };
                set_mode(&mut mode, Mode::Optional(text))
            } else if p.is_ident("required") {
                set_mode(&mut mode, Mode::Required)
            } else if p.is_ident("computed") {
                let s: LitStr = m.value()?.parse()?;
                set_mode(&mut mode, Mode::Computed(s.value()))
            } else if p.is_ident("by_hand") {
                let s: LitStr = m.value()?.parse()?;
                set_mode(&mut mode, Mode::ByHand(s.value()))
            } else if p.is_ident("section") {
                let text = if m.input.peek(syn::Token![=]) {
                    let s: LitStr = m.value()?.parse()?;
                    Some(s.value())
                } else {
                    None
                };
                set_mode(&mut mode, Mode::Section(text))
            } else if p.is_ident("flatten") {
                set_mode(&mut mode, Mode::Flatten)
            } else if p.is_ident("skip") {
                set_mode(&mut mode, Mode::Skip)
            } else if p.is_ident("kind") {
                let s: LitStr = m.value()?.parse()?;
                kind = Some(s.value());
                Ok(())
            } else if p.is_ident("raw") {
                raw = Some(m.value()?.parse()?);
                Ok(())
            } else if p.is_ident("check") {
                check = Some(m.value()?.parse()?);
                Ok(())
            } else if p.is_ident("log") {
                family = Some(Ident::new("Log", Span::call_site()));
                Ok(())
            } else if p.is_ident("queue") {
                family = Some(Ident::new("Queue", Span::call_site()));
                Ok(())
            } else if p.is_ident("why") {
                let s: LitStr = m.value()?.parse()?;
                why = s.value();
                Ok(())
            } else if p.is_ident("name") {
                let s: LitStr = m.value()?.parse()?;
                name = s.value();
                Ok(())
            } else if p.is_ident("render") {
                render = Some(m.value()?.parse()?);
                Ok(())
            } else {
                Err(m.error("unknown #[key] argument"))
            }
        })?;
    }
    if !seen {
        return Err(syn::Error::new(
            ident.span(),
            "every field of a #[derive(Keys)] struct says what it is: #[key(...)] (or #[key(skip)])",
        ));
    }
    let mode = mode.ok_or_else(|| {
        syn::Error::new(
            ident.span(),
            "#[key] needs a mode: default = .., optional, required, computed = \"..\", by_hand = \"..\", section, flatten or skip",
        )
    })?;
    if matches!(mode, Mode::Section(_)) {
        kind.get_or_insert_with(|| "table".to_string());
        if raw.is_none() {
            return Err(syn::Error::new(
                ident.span(),
                "a section needs raw = <its Raw table type>",
            ));
        }
    }
    if !why.is_empty() && family.is_none() {
        return Err(syn::Error::new(
            ident.span(),
            "`why` explains a family restriction: give `log` or `queue` with it",
        ));
    }
    let structural = matches!(mode, Mode::Flatten | Mode::Skip | Mode::Section(_));
    let extras: Vec<&str> = [
        ("check", check.is_some()),
        (
            "render",
            render.is_some() && !matches!(mode, Mode::Section(_)),
        ),
        ("log/queue", family.is_some()),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(n, _)| n)
    .collect();
    if structural && !extras.is_empty() {
        return Err(syn::Error::new(
            ident.span(),
            format!(
                "{} do not apply to a flatten, skip or section field",
                extras.join(", ")
            ),
        ));
    }
    if matches!(mode, Mode::Flatten | Mode::Skip) && (raw.is_some() || kind.is_some()) {
        return Err(syn::Error::new(
            ident.span(),
            "raw and kind do not apply to a flatten or skip field",
        ));
    }
    let keyed = !matches!(mode, Mode::Flatten | Mode::Skip);
    if keyed && kind.is_none() {
        return Err(syn::Error::new(ident.span(), "#[key] needs kind = \"...\""));
    }
    let reads = matches!(
        mode,
        Mode::Default(_) | Mode::Optional(_) | Mode::Required | Mode::Computed(_)
    );
    if reads && check.is_none() {
        return Err(syn::Error::new(
            ident.span(),
            "#[key] needs check = <fn(&toml::Value) -> Result<T, String>>",
        ));
    }
    Ok(Field {
        ty: f.ty.clone(),
        doc: doc_lines(&f.attrs),
        ident,
        name,
        kind: kind.unwrap_or_default(),
        raw,
        mode,
        check,
        family: family.map(|f| (f, why)),
        render,
    })
}

fn parse_struct_attrs(input: &DeriveInput) -> syn::Result<(String, Vec<Extra>, bool)> {
    let mut table = None;
    let mut default = false;
    let mut extras = Vec::new();
    for a in &input.attrs {
        if !a.path().is_ident("keys") {
            continue;
        }
        a.parse_nested_meta(|m| {
            if m.path.is_ident("table") {
                let s: LitStr = m.value()?.parse()?;
                table = Some(s.value());
                Ok(())
            } else if m.path.is_ident("default") {
                default = true;
                Ok(())
            } else if m.path.is_ident("extra") {
                let (mut name, mut raw, mut kind, mut default, mut doc) =
                    (None, None, None, None, None);
                m.parse_nested_meta(|e| {
                    let lit = |e: &syn::meta::ParseNestedMeta| -> syn::Result<String> {
                        let s: LitStr = e.value()?.parse()?;
                        Ok(s.value())
                    };
                    if e.path.is_ident("name") {
                        name = Some(lit(&e)?);
                    } else if e.path.is_ident("raw") {
                        raw = Some(e.value()?.parse::<Type>()?);
                    } else if e.path.is_ident("kind") {
                        kind = Some(lit(&e)?);
                    } else if e.path.is_ident("default") {
                        default = Some(lit(&e)?);
                    } else if e.path.is_ident("doc") {
                        doc = Some(lit(&e)?);
                    } else {
                        return Err(e.error("unknown extra(...) argument"));
                    }
                    Ok(())
                })?;
                let missing = |w: &str| m.error(format!("extra(...) needs {w}"));
                extras.push(Extra {
                    name: name.ok_or_else(|| missing("name"))?,
                    raw: raw.ok_or_else(|| missing("raw"))?,
                    kind: kind.ok_or_else(|| missing("kind"))?,
                    default: default.ok_or_else(|| missing("default"))?,
                    doc: doc.ok_or_else(|| missing("doc"))?,
                });
                Ok(())
            } else {
                Err(m.error("unknown #[keys] argument"))
            }
        })?;
    }
    let table = table.ok_or_else(|| {
        syn::Error::new(
            input.ident.span(),
            "#[derive(Keys)] needs #[keys(table = \"...\")]",
        )
    })?;
    Ok((table, extras, default))
}

/// `T` of `Option<T>`.
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    if seg.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(a) = &seg.arguments else {
        return None;
    };
    match a.args.first()? {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

fn last_ident(ty: &Type) -> syn::Result<Ident> {
    match ty {
        Type::Path(p) => Ok(p.path.segments.last().expect("a path").ident.clone()),
        _ => Err(syn::Error::new_spanned(ty, "expected a struct type")),
    }
}

/// The value's type as written in the file (what the JSON Schema says).
fn raw_type(f: &Field, value: &Type) -> syn::Result<Tokens> {
    if let Some(r) = &f.raw {
        return Ok(quote!(#r));
    }
    Ok(match f.kind.as_str() {
        "integer" => quote!(#value),
        "boolean" => quote!(bool),
        "float" => quote!(f64),
        "duration" | "rate" | "latency range" | "string" => quote!(::std::string::String),
        other => {
            return Err(syn::Error::new(
                f.ident.span(),
                format!("kind = \"{other}\" needs raw = <the type as written in the file>"),
            ))
        }
    })
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    let vis = &input.vis;
    let (table, extras, with_default) = parse_struct_attrs(input)?;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(name.span(), "derive(Keys) is for structs"));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new(
            name.span(),
            "derive(Keys) needs named fields",
        ));
    };
    let fields: Vec<Field> = named
        .named
        .iter()
        .map(parse_field)
        .collect::<syn::Result<_>>()?;
    let raw_name = format_ident!("Raw{}", name);
    let keys_name = format_ident!("{}Keys", name);
    let flattened = fields.iter().any(|f| matches!(f.mode, Mode::Flatten));

    let mut raw_fields = Vec::new();
    let mut key_rows = Vec::new();
    let mut partial_fields = Vec::new();
    let mut reads = Vec::new();
    let mut finish_args = Vec::new();
    let mut finish_fields = Vec::new();
    let mut renders = Vec::new();

    for f in &fields {
        let ident = &f.ident;
        let ty = &f.ty;
        let key = &f.name;
        let docs = &f.doc;
        let doc = one_line(&f.doc);
        let kind = &f.kind;
        if let Mode::Flatten = f.mode {
            let inner = last_ident(ty)?;
            let inner_raw = format_ident!("Raw{}", inner);
            let inner_keys = format_ident!("{}Keys", inner);
            raw_fields.push(quote! {
                #[serde(flatten)]
                pub #ident: #inner_raw,
            });
            key_rows.push(quote! { v.extend(<#ty as crate::scenario::keys::Declared>::keys()); });
            partial_fields.push(quote! { pub #ident: #inner_keys, });
            reads.push(quote! { #ident: <#ty>::read(c, f), });
            finish_fields.push(quote! { #ident: self.#ident.finish()?, });
            renders.push(quote! { self.#ident.render_keys(o, kind); });
            continue;
        }
        if let Mode::Skip = f.mode {
            finish_args.push(quote! { pub #ident: ::std::option::Option<#ty>, });
            finish_fields.push(quote! { #ident: rest.#ident?, });
            continue;
        }
        let optional = matches!(f.mode, Mode::Optional(_));
        let value: &Type = if optional {
            option_inner(ty).ok_or_else(|| {
                syn::Error::new(f.ident.span(), "an optional key's field is an Option<T>")
            })?
        } else {
            ty
        };
        let raw = raw_type(f, value)?;
        let rename = if ident != key {
            quote!(#[serde(rename = #key)])
        } else {
            quote!()
        };
        let required = if matches!(f.mode, Mode::Required) {
            quote!(#[schemars(required)])
        } else {
            quote!()
        };
        raw_fields.push(quote! {
            #(#[doc = #docs])*
            #rename
            #required
            pub #ident: ::std::option::Option<#raw>,
        });
        let render_fn = match &f.render {
            Some(r) => quote!(#r),
            None => quote!(crate::scenario::keys::Toml::toml),
        };
        let default = match &f.mode {
            Mode::Default(e) => {
                quote!(crate::scenario::keys::KeyDefault::Value(#render_fn(&{ let d: #ty = #e; d })))
            }
            Mode::Optional(None) => quote!(crate::scenario::keys::KeyDefault::None),
            Mode::Optional(Some(t)) => quote!(crate::scenario::keys::KeyDefault::Text(#t)),
            Mode::Required => quote!(crate::scenario::keys::KeyDefault::Required),
            Mode::Computed(t) | Mode::ByHand(t) | Mode::Section(Some(t)) => {
                quote!(crate::scenario::keys::KeyDefault::Text(#t))
            }
            Mode::Section(None) => quote!(crate::scenario::keys::KeyDefault::Unlisted),
            Mode::Flatten | Mode::Skip => unreachable!(),
        };
        let (family_value, family_row, family_ok) = match &f.family {
            Some((fam, why)) => (
                quote!(::std::option::Option::Some((crate::scenario::BrokerKind::#fam, #why))),
                quote!(::std::option::Option::Some(crate::scenario::BrokerKind::#fam)),
                quote!(kind == crate::scenario::BrokerKind::#fam),
            ),
            None => (
                quote!(::std::option::Option::None),
                quote!(::std::option::Option::None),
                quote!(true),
            ),
        };
        key_rows.push(quote! {
            v.push(crate::scenario::keys::Key {
                name: #key,
                kind: #kind,
                default: #default,
                family: #family_row,
                doc: #doc,
            });
        });
        let check = &f.check;
        match &f.mode {
            Mode::Default(e) => {
                partial_fields.push(quote! { pub #ident: ::std::option::Option<#ty>, });
                reads.push(quote! { #ident: c.key_default(f, #key, #family_value, #e, #check), });
                finish_fields.push(quote! { #ident: self.#ident?, });
            }
            Mode::Optional(_) => {
                partial_fields.push(quote! { pub #ident: ::std::option::Option<#ty>, });
                reads.push(quote! { #ident: c.key_optional(f, #key, #family_value, #check), });
                finish_fields.push(quote! { #ident: self.#ident?, });
            }
            Mode::Required => {
                partial_fields.push(quote! { pub #ident: ::std::option::Option<#ty>, });
                reads.push(quote! { #ident: c.key_required(f, #key, #family_value, #check), });
                finish_fields.push(quote! { #ident: self.#ident?, });
            }
            Mode::Computed(_) => {
                partial_fields.push(quote! {
                    /// The value as given (None when absent or invalid): the
                    /// table's rules fill in the default.
                    pub #ident: ::std::option::Option<#ty>,
                });
                reads.push(quote! { #ident: c.key_given(f, #key, #family_value, #check), });
                finish_fields.push(quote! { #ident: self.#ident?, });
            }
            Mode::ByHand(_) | Mode::Section(_) => {
                finish_args.push(quote! { pub #ident: ::std::option::Option<#ty>, });
                finish_fields.push(quote! { #ident: rest.#ident?, });
            }
            Mode::Flatten | Mode::Skip => unreachable!(),
        }
        if matches!(f.mode, Mode::Section(_)) {
            continue;
        }
        // A by-hand key without a render fn is written by the table's own code.
        if matches!(f.mode, Mode::ByHand(_)) && f.render.is_none() {
            continue;
        }
        if optional {
            renders.push(quote! {
                if #family_ok {
                    if let ::std::option::Option::Some(v) = &self.#ident {
                        let _ = ::std::writeln!(o, "{} = {}", #key, #render_fn(v));
                    }
                }
            });
        } else {
            renders.push(quote! {
                if #family_ok {
                    let _ = ::std::writeln!(o, "{} = {}", #key, #render_fn(&self.#ident));
                }
            });
        }
    }
    for e in &extras {
        let ident = format_ident!("{}", e.name);
        let (key, raw, kind, default, doc) = (&e.name, &e.raw, &e.kind, &e.default, &e.doc);
        raw_fields.push(quote! {
            #[doc = #doc]
            pub #ident: ::std::option::Option<#raw>,
        });
        key_rows.push(quote! {
            v.push(crate::scenario::keys::Key {
                name: #key,
                kind: #kind,
                default: crate::scenario::keys::KeyDefault::Text(#default),
                family: ::std::option::Option::None,
                doc: #doc,
            });
        });
    }
    let default_impl = if with_default {
        let mut inits = Vec::new();
        for f in &fields {
            let ident = &f.ident;
            let ty = &f.ty;
            match &f.mode {
                Mode::Default(e) => inits.push(quote! { #ident: { let d: #ty = #e; d }, }),
                Mode::Optional(_) => inits.push(quote! { #ident: ::std::option::Option::None, }),
                Mode::Flatten => inits.push(quote! { #ident: ::std::default::Default::default(), }),
                _ => {
                    return Err(syn::Error::new(
                        ident.span(),
                        "#[keys(default)]: every key needs a default (default = .., optional or flatten)",
                    ))
                }
            }
        }
        quote! {
            /// Every key at its declared default.
            impl ::std::default::Default for #name {
                fn default() -> Self {
                    #name { #(#inits)* }
                }
            }
        }
    } else {
        quote!()
    };
    if flattened && !finish_args.is_empty() {
        return Err(syn::Error::new(
            name.span(),
            "a table with flatten takes no by_hand or skip fields (finish would need the inner's)",
        ));
    }
    let rest_name = format_ident!("{}Rest", name);
    let rest_doc = format!(
        "What `[{table}]`'s own code fills in (its `by_hand`, `section` and `skip` fields): `None` when invalid."
    );
    let finish = if finish_args.is_empty() {
        quote! {
            impl #keys_name {
                /// The typed table, or `None` if any of its keys was invalid.
                pub(crate) fn finish(self) -> ::std::option::Option<#name> {
                    ::std::option::Option::Some(#name { #(#finish_fields)* })
                }
            }
        }
    } else {
        quote! {
            #[doc = #rest_doc]
            pub(crate) struct #rest_name {
                #(#finish_args)*
            }

            impl #keys_name {
                /// The typed table, or `None` if any of its keys, or of
                /// what `rest` brings, was invalid.
                pub(crate) fn finish(self, rest: #rest_name) -> ::std::option::Option<#name> {
                    ::std::option::Option::Some(#name { #(#finish_fields)* })
                }
            }
        }
    };
    let deny = if flattened {
        // serde cannot deny unknown fields with a flattened part; the
        // validator denies them, and the schema says so for editors.
        quote!(#[schemars(deny_unknown_fields)])
    } else {
        quote!(#[serde(deny_unknown_fields)])
    };
    // The table's own doc is what an editor shows for it.
    let table_docs = doc_lines(&input.attrs);
    let keys_doc = format!("`[{table}]` as walked: each key's value, `None` when invalid.");
    Ok(quote! {
        #(#[doc = #table_docs])*
        #[derive(Clone, Debug, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize, ::schemars::JsonSchema)]
        #deny
        #vis struct #raw_name {
            #(#raw_fields)*
        }

        impl crate::scenario::raw::Schema for #raw_name {
            fn fields() -> ::std::vec::Vec<&'static str> {
                <#name as crate::scenario::keys::Declared>::keys()
                    .into_iter()
                    .map(|k| k.name)
                    .collect()
            }
        }

        impl crate::scenario::keys::Declared for #name {
            const TABLE: &'static str = #table;
            const RAW: &'static str = ::std::stringify!(#raw_name);
            fn keys() -> ::std::vec::Vec<crate::scenario::keys::Key> {
                let mut v = ::std::vec::Vec::new();
                #(#key_rows)*
                v
            }
        }

        #[doc = #keys_doc]
        pub(crate) struct #keys_name {
            #(#partial_fields)*
        }

        impl #name {
            /// Walks the table's declared keys in order, collecting errors.
            pub(crate) fn read(
                c: &mut crate::scenario::walk::Check,
                f: &crate::scenario::walk::Fields,
            ) -> #keys_name {
                #keys_name { #(#reads)* }
            }

            /// Writes the declared keys as `key = value` lines, those of the
            /// other broker family and absent optional ones left out.
            #[allow(unused_variables)]
            pub(crate) fn render_keys(&self, o: &mut ::std::string::String, kind: crate::scenario::BrokerKind) {
                use ::std::fmt::Write as _;
                #(#renders)*
            }
        }

        #default_impl

        #finish

    })
}
