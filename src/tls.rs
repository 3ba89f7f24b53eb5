//! TLS for every HTTPS client verso makes (the remote cache, deploy hosts,
//! embedding servers): rustls with ring's provider, installed process-wide
//! once, and OpenDAL's HTTP transport on a reqwest client made after it
//! (at its first request).
//! (rustls's default provider, aws-lc, is a minute of C in a from-scratch
//! build: benches/RESULTS.md.)

use std::sync::Once;

/// Install the provider and OpenDAL's transport; call before any client.
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // Fails only when a provider is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Its client is made at the first request: one that never sends
        // any (a deploy with nothing to send) reads no root certificates.
        opendal_http_transport_reqwest::install_default();
    });
}
