//! The shop example in a real browser: headless Chromium driven through chromedriver. Skipped
//! with a message where no browser is installed, except in CI (`CI` set), where it must run;
//! `scripts/test` installs Debian's `chromium` and `chromium-driver` when missing.

#[path = "../../examples/shop/app.rs"]
#[allow(dead_code)]
mod shop;
mod webdriver;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use webdriver::{Browser, Driver, CHROMEDRIVER, CHROMIUM};

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

/// Serves the shop on its own thread and runtime, as a separate server would.
fn serve_shop() -> String {
    let port = free_port();
    let figment = rocket::Config::figment()
        .merge(("port", port))
        .merge(("address", "127.0.0.1"))
        .merge(("log_level", "off"))
        .merge(("session_use_signer", true));
    std::thread::spawn(move || {
        let runtime = rocket::tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let _ = shop::shop(rocket::custom(figment)).launch().await;
        });
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the shop did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    format!("http://127.0.0.1:{port}")
}

fn browser_installed() -> bool {
    let installed = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser test: install chromium and chromium-driver (scripts/test does)"
        );
        eprintln!("SKIPPED: the browser test needs {CHROMIUM} and {CHROMEDRIVER}; run scripts/test, which installs them");
    }
    installed
}

/// Logs `user` in through the shop's form; the browser ends on `/account`.
fn log_in(browser: &Browser<'_>, shop: &str, user: &str) {
    browser.goto(&format!("{shop}/login"));
    browser.type_into("#user", user);
    browser.type_into("#password", "shop");
    browser.click_to("#login", "/account");
}

fn session_cookie(browser: &Browser<'_>) -> String {
    browser.cookie("session").expect("a session cookie")["value"].as_str().unwrap().to_owned()
}

#[test]
fn a_shopper_logs_in_keeps_a_cart_and_logs_out_in_a_real_browser() {
    if !browser_installed() {
        return;
    }
    let shop = serve_shop();
    let driver = Driver::start(free_port());
    let browser = Browser::open(&driver);

    browser.goto(&format!("{shop}/"));
    assert!(browser.cookie("session").is_none(), "browsing alone sets no cookie");
    browser.click_to("#add-1", "/cart");
    assert_eq!(browser.text("#flash"), "Tea added to your cart");
    browser.refresh();
    assert!(browser.url().ends_with("/cart"));
    assert_eq!(browser.text("#cart"), "1 items: Tea", "the cart is kept across a reload");
    assert!(
        browser.script("return document.cookie;").as_str().unwrap().is_empty(),
        "HttpOnly hides the cookie from scripts"
    );
    assert_eq!(browser.cookie("session").unwrap()["httpOnly"], true);
    let before_login = session_cookie(&browser);

    log_in(&browser, &shop, "ada");
    assert_eq!(browser.text("#flash"), "Welcome, ada");
    assert_eq!(browser.text("#user"), "Logged in as ada");
    assert_eq!(browser.text("#cart"), "1 items: Tea", "the cart survives the login");
    assert_ne!(session_cookie(&browser), before_login, "the id changes at login");
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&artifacts).unwrap();
    browser.screenshot(&artifacts.join("cart.png"));

    let stranger = Browser::open(&driver);
    stranger.goto(&format!("{shop}/account"));
    assert!(
        stranger.url().ends_with("/login"),
        "another browser shares nothing: {}",
        stranger.url()
    );
    drop(stranger);

    browser.click_to("#logout", "/");
    assert_eq!(browser.text("#flash"), "You are logged out");
    browser.goto(&format!("{shop}/account"));
    assert!(browser.url().ends_with("/login"), "{}", browser.url());
    assert_eq!(browser.text("#flash"), "Please log in first");
}

#[test]
fn log_out_everywhere_ends_the_session_in_every_browser() {
    if !browser_installed() {
        return;
    }
    let shop = serve_shop();
    let driver = Driver::start(free_port());
    let laptop = Browser::open(&driver);
    let phone = Browser::open(&driver);
    for browser in [&laptop, &phone] {
        log_in(browser, &shop, "grace");
        assert_eq!(browser.text("#user"), "Logged in as grace");
    }
    laptop.click_to("#logout-everywhere", "/login");
    assert_eq!(laptop.text("#flash"), "Logged out of 2 sessions");
    laptop.goto(&format!("{shop}/account"));
    assert!(laptop.url().ends_with("/login"), "{}", laptop.url());
    phone.goto(&format!("{shop}/account"));
    assert!(phone.url().ends_with("/login"), "{}", phone.url());
}

#[test]
fn a_user_signs_out_another_device_from_the_device_list() {
    if !browser_installed() {
        return;
    }
    let shop = serve_shop();
    let driver = Driver::start(free_port());
    let laptop = Browser::open(&driver);
    let phone = Browser::open(&driver);
    for browser in [&phone, &laptop] {
        log_in(browser, &shop, "lin");
    }
    laptop.click_to("#devices", "/devices");
    let rows = || laptop.script("return document.querySelectorAll('li.device').length;");
    assert_eq!(rows(), 2, "both browsers are listed");
    assert_eq!(laptop.text(".this-device"), "This device");
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&artifacts).unwrap();
    laptop.screenshot(&artifacts.join("devices.png"));

    // The only sign-out button is the other device's.
    laptop.click_to(".sign-out", "/devices");
    assert_eq!(laptop.text("#flash"), "That device is signed out");
    assert_eq!(rows(), 1);
    phone.click_to("nav a[href='/account']", "/login");
    assert_eq!(phone.text("#flash"), "Please log in first");
    laptop.goto(&format!("{shop}/account"));
    assert!(laptop.url().ends_with("/account"), "the laptop stays logged in: {}", laptop.url());
}
