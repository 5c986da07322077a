//! A broker's server, for both families: it accepts client connections on
//! the broker port and answers each connection's requests in order, one
//! task per connection. What a request means is the family's
//! ([`Connection::handle`]); how the host serves — behind its pause gate,
//! paying `broker.processing` of CPU per request, a disk error fatal for
//! the host — is the same for every broker.

use crate::common::wire::{read_frame, write_frame, Request, Response, BROKER_PORT};
use harness::model::HostEnv;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use turmoil::net::{TcpListener, TcpStream};

/// A broker's side of one client connection.
pub trait Connection: 'static {
    /// The broker host the connection belongs to.
    fn env(&self) -> &HostEnv;

    /// The answer to `req` (`None`: no answer is sent, as for `acks = 0`);
    /// an error is a disk error.
    async fn handle(&self, req: Request) -> io::Result<Option<Response>>;
}

/// Accepts connections for ever, each served on its own task by the
/// connection `accept` makes for it. Returns only if the port cannot be
/// bound or accepting fails (the host's software then ends with it).
pub async fn listen<C: Connection>(mut accept: impl FnMut() -> C) -> io::Result<()> {
    let listener = TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), BROKER_PORT)).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::task::spawn_local(serve(accept(), stream));
    }
}

/// Serves one connection: each request in order, its answer written back,
/// until the peer goes away or a read fails (a timed-out client drops its
/// connection). The host waits at its gate before each request, then works
/// `broker.processing` on a core; a disk error is fatal for it.
async fn serve<C: Connection>(conn: C, mut stream: TcpStream) {
    let env = conn.env();
    let processing = env.scenario.broker.processing;
    while let Ok(req) = read_frame::<Request, _>(&mut stream).await {
        env.control.gate().await;
        env.control.work(processing).await;
        let resp = match conn.handle(req).await {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => panic!("{}: disk error: {e}", env.name()),
        };
        if write_frame(&mut stream, &resp).await.is_err() {
            return;
        }
    }
}
