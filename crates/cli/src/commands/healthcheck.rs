//! `throughline healthcheck`: GET /healthz and exit 0 on 200.
//!
//! A plain HTTP/1.1 request over a socket: health checks run next to the server (in a
//! container or on the host), where TLS and a full HTTP client would only add weight.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn host_port(url: &str) -> Result<(String, String)> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        anyhow!("the health check speaks plain http://; `{url}` is not an http:// URL")
    })?;
    let authority = rest.split('/').next().unwrap_or(rest);
    if authority.is_empty() {
        bail!("`{url}` names no host");
    }
    let with_port = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((authority.to_string(), with_port))
}

pub async fn run(url: &str) -> Result<()> {
    let (host, addr) = host_port(url)?;
    let check = async {
        let mut stream = TcpStream::connect(&addr)
            .await
            .with_context(|| format!("nothing answers at {addr}"))?;
        let request = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        let text = String::from_utf8_lossy(&response);
        let status = text.lines().next().unwrap_or("");
        if status.split_whitespace().nth(1) == Some("200") {
            println!("healthy: {url}");
            Ok(())
        } else {
            bail!("unhealthy: {url} answered `{status}`")
        }
    };
    tokio::time::timeout(Duration::from_secs(10), check)
        .await
        .map_err(|_| anyhow!("no answer from {url} within 10 s"))?
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_become_host_and_port() {
        assert_eq!(
            super::host_port("http://127.0.0.1:8080").unwrap().1,
            "127.0.0.1:8080"
        );
        assert_eq!(
            super::host_port("http://example.com/x").unwrap().1,
            "example.com:80"
        );
        assert!(super::host_port("https://example.com").is_err());
    }
}
