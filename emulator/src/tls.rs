//! Purpose: the test certificate authority and the `discord.com` leaf certificate (rcgen,
//! ring), a rustls server config, and an axum `Listener` that performs TLS handshakes off the
//! accept loop.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::server::TlsStream;

/// A generated CA and a server config presenting a leaf for discord.com signed by it.
pub struct TestPki {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

/// Generates a fresh CA and a leaf for `discord.com`, `*.discord.com`, `gateway.discord.gg`,
/// `localhost` and `127.0.0.1`.
pub fn generate() -> anyhow::Result<TestPki> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().context("CA key")?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).context("CA params")?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "discord-emulator test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).context("CA certificate")?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().context("leaf key")?;
    let names = vec![
        "discord.com".to_string(),
        "*.discord.com".to_string(),
        "gateway.discord.gg".to_string(),
        "cdn.discordapp.com".to_string(),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
    ];
    let mut leaf_params = CertificateParams::new(names).context("leaf params")?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "discord.com");
    let leaf = leaf_params
        .signed_by(&leaf_key, &issuer)
        .context("leaf certificate")?;

    let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("TLS certificate")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TestPki {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(config),
    })
}

/// An axum listener yielding TLS streams; handshakes run in their own tasks so one slow
/// client cannot block others.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<tokio::net::TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> anyhow::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    // The server stopped (listener dropped): release the port.
                    _ = tx.closed() => break,
                    a = tcp.accept() => a,
                };
                let (stream, addr) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::debug!("TLS accept error: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    break;
                }
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let hs = tokio::time::timeout(
                        std::time::Duration::from_secs(10),
                        acceptor.accept(stream),
                    )
                    .await;
                    if let Ok(Ok(tls)) = hs {
                        let _ = tx.send((tls, addr)).await;
                    }
                });
            }
        });
        Ok(Self { rx, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Some(x) = self.rx.recv().await {
                return x;
            }
            // The accept task ended (listener closed): never yield again.
            std::future::pending::<()>().await;
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
