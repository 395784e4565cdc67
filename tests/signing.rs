//! Alipay+ signatures interoperate with an independent implementation (the `openssl` command
//! line) in both directions, for requests and responses, with the documented layout.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use plusflow::alipayplus::signing::{
    SignatureHeader, SigningKey, VerifyError, VerifyingKeys, content_to_sign,
};

const KEYS: &str = "tests/fixtures/keys";

fn acqp_key() -> SigningKey {
    SigningKey::from_pem_file(&Path::new(KEYS).join("test-acqp-private.pem"), "1").unwrap()
}

fn keys(file: &str) -> VerifyingKeys {
    VerifyingKeys::single(VerifyingKeys::read_pem(&Path::new(KEYS).join(file)).unwrap(), "1")
}

fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl command line is installed")
}

#[test]
fn the_string_to_sign_has_the_documented_layout() {
    let body = br#"{"paymentRequestId":"pay_1"}"#;
    let content = content_to_sign(
        "POST",
        "/aps/api/v1/payments/pay",
        "TEST_5X00000000000000",
        "2019-05-28T12:12:12+08:00",
        body,
    );
    assert_eq!(
        String::from_utf8(content).unwrap(),
        "POST /aps/api/v1/payments/pay\nTEST_5X00000000000000.2019-05-28T12:12:12+08:00.{\"paymentRequestId\":\"pay_1\"}"
    );
}

/// Request (our client id, Request-Time) and response (Response-Time) contents.
fn contents() -> Vec<Vec<u8>> {
    vec![
        content_to_sign(
            "POST",
            "/aps/api/v1/payments/pay",
            "SANDBOX_5YC47N2ZQHJ004124",
            "2026-11-25T10:00:00.123Z",
            br#"{"paymentAmount":{"currency":"USD","value":"1000"}}"#,
        ),
        content_to_sign(
            "POST",
            "/aps/api/v1/payments/pay",
            "SANDBOX_5YC47N2ZQHJ004124",
            "2026-11-25T10:00:01.456+08:00",
            br#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#,
        ),
    ]
}

#[test]
fn openssl_verifies_what_plusflow_signs() {
    let dir = tempfile::tempdir().unwrap();
    for (n, content) in contents().iter().enumerate() {
        let header: SignatureHeader = acqp_key().signature_header(content).parse().unwrap();
        assert_eq!(header.algorithm, "RSA256");
        // The value on the wire is url-encoded base64: undo both, as Alipay+ does.
        let decoded = percent_encoding::percent_decode_str(&header.signature)
            .decode_utf8()
            .unwrap();
        let (message, signature) = (dir.path().join(format!("m{n}")), dir.path().join(format!("s{n}")));
        std::fs::write(&message, content).unwrap();
        std::fs::write(&signature, BASE64.decode(decoded.as_bytes()).unwrap()).unwrap();
        let public = format!("{KEYS}/test-acqp-public.pem");
        let out = openssl(&[
            "dgst",
            "-sha256",
            "-verify",
            &public,
            "-signature",
            signature.to_str().unwrap(),
            message.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Verified OK");
    }
}

#[test]
fn plusflow_verifies_what_openssl_signs_and_refuses_any_change() {
    let dir = tempfile::tempdir().unwrap();
    let alipayplus = keys("test-alipayplus-public.pem");
    for (n, content) in contents().iter().enumerate() {
        let (message, signature) = (dir.path().join(format!("m{n}")), dir.path().join(format!("s{n}")));
        std::fs::write(&message, content).unwrap();
        let private = format!("{KEYS}/test-alipayplus-private.pem");
        let out = openssl(&[
            "dgst",
            "-sha256",
            "-sign",
            &private,
            "-out",
            signature.to_str().unwrap(),
            message.to_str().unwrap(),
        ]);
        assert!(out.status.success());
        let encoded: String = url::form_urlencoded::byte_serialize(
            BASE64.encode(std::fs::read(&signature).unwrap()).as_bytes(),
        )
        .collect();
        // Alipay+'s documented form, with spaces after the commas.
        let header: SignatureHeader = format!("algorithm=RSA256, keyVersion=1, signature={encoded}")
            .parse()
            .unwrap();
        assert_eq!(alipayplus.verify(&header, content), Ok(()));

        let mut tampered = content.clone();
        *tampered.last_mut().unwrap() = b' ';
        assert_eq!(alipayplus.verify(&header, &tampered), Err(VerifyError::Mismatch));
        assert_eq!(
            keys("test-other-public.pem").verify(&header, content),
            Err(VerifyError::Mismatch)
        );
    }
}

#[test]
fn the_signature_header_is_parsed_tolerantly_and_key_versions_select_the_key() {
    let content = b"POST /x\nc.t.{}";
    let signed = acqp_key().sign(content);
    let mut rotating = keys("test-other-public.pem");
    rotating.add(
        "2",
        VerifyingKeys::read_pem(Path::new("tests/fixtures/keys/test-acqp-public.pem")).unwrap(),
    );
    for text in [
        format!("algorithm=RSA256,keyVersion=2,signature={signed}"),
        format!("signature={signed}, keyVersion=2 ,algorithm=RSA256"),
    ] {
        let header: SignatureHeader = text.parse().unwrap();
        assert_eq!(rotating.verify(&header, content), Ok(()), "{text}");
    }
    let version_one: SignatureHeader = format!("algorithm=RSA256,keyVersion=1,signature={signed}")
        .parse()
        .unwrap();
    assert_eq!(rotating.verify(&version_one, content), Err(VerifyError::Mismatch));
    let unknown: SignatureHeader = format!("algorithm=RSA256,keyVersion=9,signature={signed}")
        .parse()
        .unwrap();
    assert_eq!(
        rotating.verify(&unknown, content),
        Err(VerifyError::UnknownKey("9".into()))
    );
    assert_eq!(
        "algorithm=RSA256,keyVersion=1".parse::<SignatureHeader>(),
        Err(VerifyError::Header)
    );
}

#[test]
fn a_public_key_shorter_than_2048_bits_is_refused_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = (dir.path().join("short.pem"), dir.path().join("short-public.pem"));
    let made = openssl(&["genrsa", "-out", private.to_str().unwrap(), "1024"]);
    assert!(made.status.success());
    let exported = openssl(&[
        "rsa",
        "-in",
        private.to_str().unwrap(),
        "-pubout",
        "-out",
        public.to_str().unwrap(),
    ]);
    assert!(exported.status.success());
    let refused = VerifyingKeys::read_pem(&public).unwrap_err().to_string();
    assert!(
        refused.contains("1024-bit") && refused.contains("2048"),
        "{refused}"
    );
}
