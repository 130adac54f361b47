//! WRONG on purpose (exercise04): write_all, but no shutdown(Write), so the
//! server never learns that the data is complete and both wait. Expected
//! diagnosis: "never said it was done sending".
use std::io::{Read, Write};
use std::net::TcpStream;

fn main() -> std::io::Result<()> {
    let server = std::env::var("SOCKET_LESSONS_ADDR").unwrap_or_else(|_| "127.0.0.1:8888".into());
    let mut data = Vec::new();
    std::io::stdin().read_to_end(&mut data)?;
    let mut stream = TcpStream::connect(server)?;
    stream.write_all(&data)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    println!("the server says: {answer}");
    Ok(())
}
