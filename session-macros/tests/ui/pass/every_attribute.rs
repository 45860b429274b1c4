use rocket_typed_session::SessionData;

#[derive(Default)]
struct NotSerializable;

fn three() -> u32 {
    3
}

#[derive(rocket_typed_session::Session, Default)]
#[session(namespace = "cart")]
struct Cart {
    items: Vec<u32>,
    #[session(rename = "code")]
    coupon: Option<String>,
    #[session(skip)]
    cache: NotSerializable,
    #[session(default)]
    visits: u64,
    #[session(default = "three")]
    limit: u32,
    r#type: String,
}

#[derive(rocket_typed_session::Session, Default)]
struct ShoppingCartV2 {
    total: u64,
}

#[derive(rocket_typed_session::Session, Default)]
struct Generic<T> {
    value: T,
}

fn main() {
    assert_eq!(<Cart as SessionData>::NAMESPACE, "cart");
    assert_eq!(<ShoppingCartV2 as SessionData>::NAMESPACE, "shopping_cart_v2");
    assert_eq!(<Generic<u8> as SessionData>::NAMESPACE, "generic");
}
