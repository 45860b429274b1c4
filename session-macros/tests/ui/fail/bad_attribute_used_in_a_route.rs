use rocket::get;
use rocket_typed_session::Session;

// The one error is the attribute's: the route taking `Session<Cart>` compiles against the
// stand-in the derive emits beside it.
#[derive(Session, Default)]
#[session(prefix = "cart")]
struct Cart {
    items: Vec<u32>,
}

#[get("/cart")]
fn cart(cart: Session<Cart>) -> String {
    cart.items.len().to_string()
}

fn main() {
    let _ = rocket::routes![cart];
}
