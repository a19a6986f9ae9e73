//! A Rust peer of nml over a Unix socket: typed requests and responses in MessagePack
//! (rmp-serde, maps with field names), each in a frame of a 4-byte big-endian length, at most
//! 64 MiB (a longer frame is refused before anything is allocated for it).
//!
//!     nml-rust-peer serve PATH   listen on PATH, answer each request, until the client leaves
//!     nml-rust-peer ask PATH     connect to PATH, send requests, check each answer

use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

const MAX_FRAME: usize = 64 * 1024 * 1024;

/// A request: an id the answer repeats, and what to do.
#[derive(Serialize, Deserialize, Debug)]
struct Request {
    id: u64,
    call: Call,
}

#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "snake_case")]
enum Call {
    Add {
        x: i64,
        y: i64,
    },
    Divide {
        x: i64,
        y: i64,
    },
    /// A buffer descriptor, as nml sends one: the bytes travel as a MessagePack bin.
    Checksum {
        data: Buffer,
    },
}

#[derive(Serialize, Deserialize, Debug)]
struct Buffer {
    #[serde(with = "serde_bytes")]
    buffer: Vec<u8>,
    buffer_ud_type: String,
    buffer_ud_size: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Response {
    id: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    result: Option<Answer>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    error: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Answer {
    Number(i64),
    Checksum { size: u64, sum: u64 },
}

fn read_frame<T: DeserializeOwned>(conn: &mut impl Read) -> io::Result<Option<T>> {
    let mut header = [0u8; 4];
    match conn.read_exact(&mut header) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    let length = u32::from_be_bytes(header) as usize;
    if length > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {length} bytes, more than {MAX_FRAME}"),
        ));
    }
    let mut payload = vec![0u8; length];
    conn.read_exact(&mut payload)?;
    rmp_serde::from_slice(&payload)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn write_frame<T: Serialize>(conn: &mut impl Write, value: &T) -> io::Result<()> {
    let payload = rmp_serde::to_vec_named(value)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    conn.write_all(&(payload.len() as u32).to_be_bytes())?;
    conn.write_all(&payload)
}

fn answer(request: Request) -> Response {
    let (result, error) = match request.call {
        Call::Add { x, y } => (Some(Answer::Number(x + y)), None),
        Call::Divide { x, y } => match x.checked_div(y) {
            Some(q) => (Some(Answer::Number(q)), None),
            None => (None, Some(format!("cannot divide {x} by {y}"))),
        },
        Call::Checksum { data } => {
            let sum = data.buffer.iter().map(|&b| b as u64).sum();
            (
                Some(Answer::Checksum {
                    size: data.buffer.len() as u64,
                    sum,
                }),
                None,
            )
        }
    };
    Response {
        id: request.id,
        result,
        error,
    }
}

fn serve(path: &str) -> io::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    println!("rust peer: listening on {path}");
    io::stdout().flush()?;
    let (mut conn, _) = listener.accept()?;
    let mut answered = 0;
    loop {
        match read_frame::<Request>(&mut conn) {
            Ok(Some(request)) => {
                write_frame(&mut conn, &answer(request))?;
                answered += 1;
            }
            Ok(None) => break,
            Err(e) => {
                // A frame over the cap or bytes that are no request: say so, and hang up.
                write_frame(
                    &mut conn,
                    &Response {
                        id: 0,
                        result: None,
                        error: Some(e.to_string()),
                    },
                )?;
                println!("rust peer: refused a request: {e}");
                break;
            }
        }
    }
    println!("rust peer: answered {answered} requests");
    std::fs::remove_file(path)
}

fn ask(path: &str) -> io::Result<()> {
    let mut conn = UnixStream::connect(path)?;
    let requests = [
        Request {
            id: 1,
            call: Call::Add { x: 40, y: 2 },
        },
        Request {
            id: 2,
            call: Call::Divide { x: 1, y: 0 },
        },
        Request {
            id: 3,
            call: Call::Checksum {
                data: Buffer {
                    buffer: (0..=255).collect(),
                    buffer_ud_type: "bytes".into(),
                    buffer_ud_size: Some(256),
                },
            },
        },
    ];
    for request in &requests {
        write_frame(&mut conn, request)?;
        let response: Response = read_frame(&mut conn)?.ok_or(io::ErrorKind::UnexpectedEof)?;
        println!(
            "rust peer: asked {:?}, got {:?}",
            request.call_name(),
            response
        );
        let expected = match &request.call {
            Call::Add { x, y } => Response {
                id: request.id,
                result: Some(Answer::Number(x + y)),
                error: None,
            },
            Call::Divide { .. } => Response {
                id: request.id,
                result: None,
                error: response.error.clone(),
            },
            Call::Checksum { data } => Response {
                id: request.id,
                result: Some(Answer::Checksum {
                    size: 256,
                    sum: data.buffer.iter().map(|&b| b as u64).sum(),
                }),
                error: None,
            },
        };
        if response != expected
            || (matches!(request.call, Call::Divide { .. }) && response.error.is_none())
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected answer {response:?}"),
            ));
        }
    }
    println!("rust peer: every answer from nml checked");
    Ok(())
}

impl Request {
    fn call_name(&self) -> &'static str {
        match self.call {
            Call::Add { .. } => "add",
            Call::Divide { .. } => "divide",
            Call::Checksum { .. } => "checksum",
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("serve"), Some(path)) => serve(path),
        (Some("ask"), Some(path)) => ask(path),
        _ => {
            eprintln!("usage: nml-rust-peer serve PATH | ask PATH");
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("rust peer: {e}");
        std::process::exit(1);
    }
}
