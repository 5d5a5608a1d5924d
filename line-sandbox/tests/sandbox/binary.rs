//! The binary: first stdout line names the address, and it serves there.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn the_binary_prints_its_address_first_and_serves_there() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oshirase-line-sandbox"))
        .args(["--listen", "127.0.0.1:0", "--channel-secret", "s", "--channel-access-token", "t", "--basic-id", "@demo", "--allow-http-media"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let address = line.trim().strip_prefix("oshirase-line-sandbox listening on http://").unwrap_or_else(|| panic!("{line:?}"));
    let config: serde_json::Value = reqwest::get(format!("http://{address}/sandbox/config")).await.unwrap().json().await.unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(config["basic_id"], "@demo");
    assert_eq!(config["base_url"], format!("http://{address}"));
    assert_eq!(config["allow_http_media"], true);
}

#[test]
fn the_binary_explains_itself_in_english() {
    let output = Command::new(env!("CARGO_BIN_EXE_oshirase-line-sandbox")).arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in ["--listen", "--channel-secret", "--channel-access-token", "--bot-user-id", "--basic-id", "--webhook-url", "--allow-http-media"] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
}
