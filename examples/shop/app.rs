//! The shop: log in with a form, a typed cart and a typed login, a page for logged-in users,
//! one-time messages ([`Flash`]), log out, log out everywhere, and "Your devices": every
//! session of the user, with a sign-out button per other device. Plain HTML strings, no
//! templates.

use rocket::form::{Form, FromForm};
use rocket::response::content::RawHtml;
use rocket::response::Redirect;
use rocket::{get, post, routes, Build, Rocket};
use rocket_typed_session::{
    ExistingSession, Flash, FlashMessage, Session, SessionFairing, SessionInfo,
};

/// What the shop sells: (id, name, price in cents).
const PRODUCTS: &[(u32, &str, u32)] = &[(1, "Tea", 450), (2, "Coffee", 600), (3, "Cocoa", 500)];

/// The visitor's cart: one stored value per field.
#[derive(rocket_typed_session::Session, Default)]
#[session(namespace = "cart")]
pub struct Cart {
    /// Product ids, one entry per unit.
    pub items: Vec<u32>,
}

/// Who is logged in; written only at login, so `ExistingSession<Auth>` means "logged in".
#[derive(rocket_typed_session::Session, Default)]
#[session(namespace = "auth")]
pub struct Auth {
    /// The user's name.
    pub user: String,
}

/// A device list's sign-out button: the handle of the session to end.
#[derive(FromForm)]
struct SignOut<'r> {
    handle: &'r str,
}

#[derive(FromForm)]
struct Login<'r> {
    user: &'r str,
    password: &'r str,
}

/// The demo's only password; any user name works with it.
const PASSWORD: &str = "shop";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn page(title: &str, flash: Vec<FlashMessage>, body: &str) -> RawHtml<String> {
    let messages: String = flash
        .iter()
        .map(|m| format!("<p class=\"{}\">{}</p>", escape(&m.category), escape(&m.message)))
        .collect();
    let flash =
        if messages.is_empty() { messages } else { format!("<div id=\"flash\">{messages}</div>") };
    RawHtml(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{flash}{body}\
         <nav><a href=\"/\">shop</a> · <a href=\"/cart\">cart</a> · <a href=\"/account\">account</a></nav>\
         </body></html>"
    ))
}

fn product(id: u32) -> Option<&'static (u32, &'static str, u32)> {
    PRODUCTS.iter().find(|(product, _, _)| *product == id)
}

fn cart_lines(cart: &Cart) -> String {
    if cart.items.is_empty() {
        return "<p id=\"cart\">Your cart is empty.</p>".into();
    }
    let names: Vec<&str> = cart.items.iter().filter_map(|id| product(*id).map(|p| p.1)).collect();
    let total: u32 = cart.items.iter().filter_map(|id| product(*id).map(|p| p.2)).sum();
    format!(
        "<p id=\"cart\">{} items: {}</p><p id=\"total\">Total: {}.{:02}</p>",
        names.len(),
        names.join(", "),
        total / 100,
        total % 100
    )
}

#[get("/")]
fn index(mut flash: Session<Flash>) -> RawHtml<String> {
    let message = flash.take();
    let products: String = PRODUCTS
        .iter()
        .map(|(id, name, price)| {
            format!(
                "<li>{name} {}.{:02} <form method=\"post\" action=\"/cart/add/{id}\">\
                 <button id=\"add-{id}\">Add to cart</button></form></li>",
                price / 100,
                price % 100
            )
        })
        .collect();
    page("Shop", message, &format!("<ul>{products}</ul>"))
}

#[post("/cart/add/<id>")]
fn add(mut cart: Session<Cart>, mut flash: Session<Flash>, id: u32) -> Redirect {
    if let Some((_, name, _)) = product(id) {
        cart.items.push(id);
        flash.push("info", format!("{name} added to your cart"));
    }
    Redirect::to("/cart")
}

#[get("/cart")]
fn cart(cart: Session<Cart>, mut flash: Session<Flash>) -> RawHtml<String> {
    let message = flash.take();
    page("Cart", message, &cart_lines(&cart))
}

#[get("/login")]
fn login_form(mut flash: Session<Flash>) -> RawHtml<String> {
    let message = flash.take();
    let form = "<form method=\"post\" action=\"/login\">\
                <label>User <input id=\"user\" name=\"user\"></label>\
                <label>Password <input id=\"password\" name=\"password\" type=\"password\"></label>\
                <button id=\"login\">Log in</button></form>";
    page("Log in", message, form)
}

#[post("/login", data = "<form>")]
fn login(form: Form<Login<'_>>, mut auth: Session<Auth>, mut flash: Session<Flash>) -> Redirect {
    if form.password != PASSWORD || form.user.trim().is_empty() {
        flash.push("error", "Wrong user name or password");
        return Redirect::to("/login");
    }
    // A new id at login: an id planted before it is worth nothing afterwards.
    auth.regenerate();
    auth.bind_user(form.user);
    auth.user = form.user.to_owned();
    flash.push("info", format!("Welcome, {}", form.user));
    Redirect::to("/account")
}

#[get("/account")]
fn account(
    auth: ExistingSession<Auth>,
    cart: Session<Cart>,
    mut flash: Session<Flash>,
) -> RawHtml<String> {
    let message = flash.take();
    let body = format!(
        "<p id=\"user\">Logged in as {}</p>{}\
         <form method=\"post\" action=\"/logout\"><button id=\"logout\">Log out</button></form>\
         <form method=\"post\" action=\"/logout/everywhere\"><button id=\"logout-everywhere\">Log out everywhere</button></form>\
         <p><a id=\"devices\" href=\"/devices\">Your devices</a></p>",
        escape(&auth.user),
        cart_lines(&cart)
    );
    page("Account", message, &body)
}

/// Where `/account` goes for a visitor who is not logged in.
#[get("/account", rank = 2)]
fn account_login_first(mut flash: Session<Flash>) -> Redirect {
    flash.push("error", "Please log in first");
    Redirect::to("/login")
}

#[post("/logout")]
fn logout(mut session: Session<Flash>) -> Redirect {
    session.destroy();
    session.push("info", "You are logged out");
    Redirect::to("/")
}

#[post("/logout/everywhere")]
async fn logout_everywhere(
    mut auth: ExistingSession<'_, Auth>,
    mut flash: Session<'_, Flash>,
) -> Redirect {
    let user = auth.user.clone();
    // This session is bound to `user` too: it ends here, and the message below starts a new,
    // anonymous one.
    match auth.revoke_user(&user).await {
        Ok(ended) => {
            flash.push("info", format!("Logged out of {ended} sessions"));
            Redirect::to("/login")
        }
        Err(_) => {
            flash.push("error", "Could not log out everywhere; try again");
            Redirect::to("/account")
        }
    }
}

/// One row of the device list: the device's name, when it was last seen, and a sign-out
/// button unless it is this one.
fn device_row(device: &SessionInfo) -> String {
    let name = device.label.as_deref().or(device.user_agent.as_deref()).unwrap_or("Unknown device");
    let seen = device
        .last_seen
        .and_then(|seen| seen.elapsed().ok())
        .map_or("unknown".to_owned(), |ago| format!("{} s ago", ago.as_secs()));
    let action = match device.current {
        true => "<strong class=\"this-device\">This device</strong>".to_owned(),
        false => format!(
            "<form method=\"post\" action=\"/devices/sign-out\">\
             <button class=\"sign-out\" name=\"handle\" value=\"{}\">Sign out</button></form>",
            device.handle
        ),
    };
    format!(
        "<li class=\"device\"><span class=\"name\">{}</span>, last seen {seen} {action}</li>",
        escape(name)
    )
}

#[get("/devices")]
async fn devices(
    auth: ExistingSession<'_, Auth>,
    mut flash: Session<'_, Flash>,
) -> RawHtml<String> {
    let message = flash.take();
    let body = match auth.sessions_of_user().await {
        Ok(list) => {
            let rows: String = list.iter().map(device_row).collect();
            format!(
                "<ul id=\"devices\">{rows}</ul>\
                 <form method=\"post\" action=\"/devices/sign-out-others\">\
                 <button id=\"sign-out-others\">Sign out everywhere else</button></form>"
            )
        }
        Err(_) => {
            "<p id=\"devices\">Your devices cannot be listed right now; try again.</p>".to_owned()
        }
    };
    page("Your devices", message, &body)
}

#[post("/devices/sign-out", data = "<form>")]
async fn sign_out_device(
    auth: ExistingSession<'_, Auth>,
    mut flash: Session<'_, Flash>,
    form: Form<SignOut<'_>>,
) -> Redirect {
    // The handle only works for the logged-in user's own sessions.
    match auth.sessions().revoke_session(&auth.user, form.handle).await {
        Ok(true) => flash.push("info", "That device is signed out"),
        Ok(false) => flash.push("error", "That device was already signed out"),
        Err(_) => flash.push("error", "Could not sign that device out; try again"),
    }
    Redirect::to("/devices")
}

#[post("/devices/sign-out-others")]
async fn sign_out_others(
    mut auth: ExistingSession<'_, Auth>,
    mut flash: Session<'_, Flash>,
) -> Redirect {
    match auth.revoke_other_sessions().await {
        Ok(ended) => flash.push("info", format!("Signed out {ended} other devices")),
        Err(_) => flash.push("error", "Could not sign the other devices out; try again"),
    }
    Redirect::to("/devices")
}

/// The shop on `rocket`, whose configuration chooses the store.
pub fn shop(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.attach(SessionFairing::new()).mount(
        "/",
        routes![
            index,
            add,
            cart,
            login_form,
            login,
            account,
            account_login_first,
            logout,
            logout_everywhere,
            devices,
            sign_out_device,
            sign_out_others
        ],
    )
}
