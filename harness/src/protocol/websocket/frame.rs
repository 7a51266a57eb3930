//! WebSocket frames (RFC 6455 section 5.2), written and read by hand: any opcode, any RSV bits,
//! masked or not, lengths that lie, and the 7-, 16- or 64-bit length forms on demand. The reader
//! side takes what a server sends without judging it; the cases judge.

use std::fmt::Write as _;

/// Continuation frame.
pub const CONTINUATION: u8 = 0x0;
/// Text frame.
pub const TEXT: u8 = 0x1;
/// Binary frame.
pub const BINARY: u8 = 0x2;
/// Close frame.
pub const CLOSE: u8 = 0x8;
/// Ping frame.
pub const PING: u8 = 0x9;
/// Pong frame.
pub const PONG: u8 = 0xA;

/// How the payload length is written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LengthForm {
    /// The shortest form (7 bits up to 125, then 16, then 64), as the RFC asks.
    #[default]
    Minimal,
    /// Always the 16-bit form (126 + u16).
    Bits16,
    /// Always the 64-bit form (127 + u64).
    Bits64,
}

/// The first bytes of a frame the harness sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// FIN bit.
    pub fin: bool,
    /// RSV1..RSV3 as a number 0..=7 (RSV1 the highest).
    pub rsv: u8,
    /// Opcode 0..=15.
    pub opcode: u8,
    /// Whether the payload is masked (a client must mask).
    pub masked: bool,
    /// The length written in the header when it is to lie; the payload's own length otherwise.
    pub declared_len: Option<u64>,
    /// How the length is written.
    pub length_form: LengthForm,
}

impl Head {
    /// A final, masked frame with no RSV bits.
    pub fn new(opcode: u8) -> Head {
        Head {
            fin: true,
            rsv: 0,
            opcode,
            masked: true,
            declared_len: None,
            length_form: LengthForm::Minimal,
        }
    }
}

/// One message's frames: `payload` in pieces of `fragment` bytes (whole when `None`; one empty
/// frame for an empty payload), the first text or binary with `first_rsv`, the rest
/// continuations, the last with FIN.
pub fn message_frames(
    text: bool,
    payload: &[u8],
    fragment: Option<usize>,
    first_rsv: u8,
) -> Vec<(Head, &[u8])> {
    let size = fragment.unwrap_or(payload.len()).max(1);
    let pieces: Vec<&[u8]> = if payload.is_empty() {
        vec![payload]
    } else {
        payload.chunks(size).collect()
    };
    let last = pieces.len() - 1;
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let mut head = Head::new(match (i, text) {
                (0, true) => TEXT,
                (0, false) => BINARY,
                _ => CONTINUATION,
            });
            if i == 0 {
                head.rsv = first_rsv;
            }
            head.fin = i == last;
            (head, piece)
        })
        .collect()
}

/// Writes the frame `head` + `payload`, masked with `key` when `head.masked`.
pub fn encode(head: &Head, key: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let len = head
        .declared_len
        .unwrap_or_else(|| u64::try_from(payload.len()).unwrap_or(u64::MAX));
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(u8::from(head.fin) << 7 | (head.rsv & 0x7) << 4 | (head.opcode & 0xF));
    let mask_bit = u8::from(head.masked) << 7;
    let form = match head.length_form {
        LengthForm::Minimal if len <= 125 => None,
        LengthForm::Minimal if len <= 0xFFFF => Some(LengthForm::Bits16),
        LengthForm::Minimal => Some(LengthForm::Bits64),
        other => Some(other),
    };
    match form {
        None => out.push(mask_bit | len as u8),
        Some(LengthForm::Bits16) => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        Some(_) => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    if head.masked {
        out.extend_from_slice(&key);
        let start = out.len();
        out.extend_from_slice(payload);
        apply_mask(&mut out[start..], key);
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// XORs `data` with the masking key (masking and unmasking are the same).
pub fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    let word = u32::from_ne_bytes(key);
    let wide = u64::from(word) | u64::from(word) << 32;
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ wide).to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
}

/// A frame as a server sent it (payload unmasked when it came masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// FIN bit.
    pub fin: bool,
    /// RSV bits 0..=7.
    pub rsv: u8,
    /// Opcode.
    pub opcode: u8,
    /// Whether the server masked it (servers must not).
    pub masked: bool,
    /// The payload.
    pub payload: Vec<u8>,
}

/// A frame header announcing more than the reader holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a frame of {declared} bytes, over the cap of {cap}")]
pub struct TooLarge {
    /// The length the header announced.
    pub declared: u64,
    /// The cap.
    pub cap: usize,
}

/// Reads one frame from the start of `buf`: `Ok(None)` when more bytes are needed, else the
/// frame and how many bytes it took. A frame longer than `cap` is an error.
pub fn decode(buf: &[u8], cap: usize) -> Result<Option<(Frame, usize)>, TooLarge> {
    let [first, second, ..] = *buf else {
        return Ok(None);
    };
    let masked = second & 0x80 != 0;
    let (len, mut at) = match second & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let mut word = [0u8; 8];
                word.copy_from_slice(b);
                (u64::from_be_bytes(word), 10)
            }
            None => return Ok(None),
        },
        short => (u64::from(short), 2),
    };
    let too_large = TooLarge { declared: len, cap };
    let len = usize::try_from(len).map_err(|_| too_large)?;
    if len > cap {
        return Err(too_large);
    }
    let mut key = None;
    if masked {
        let Some(b) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        key = Some([b[0], b[1], b[2], b[3]]);
        at += 4;
    }
    let Some(payload) = buf.get(at..at + len) else {
        return Ok(None);
    };
    let mut payload = payload.to_vec();
    if let Some(key) = key {
        apply_mask(&mut payload, key);
    }
    let frame = Frame {
        fin: first & 0x80 != 0,
        rsv: (first >> 4) & 0x7,
        opcode: first & 0xF,
        masked,
        payload,
    };
    Ok(Some((frame, at + len)))
}

/// The opcode's name (`text`, `ping`, `op=3` for a reserved one).
pub fn opcode_name(opcode: u8) -> String {
    match opcode {
        CONTINUATION => "continuation".into(),
        TEXT => "text".into(),
        BINARY => "binary".into(),
        CLOSE => "close".into(),
        PING => "ping".into(),
        PONG => "pong".into(),
        other => format!("op={other}"),
    }
}

/// One line of trace for a frame: `text fin=1 rsv=000 mask=1 len=5 "hello"`.
pub fn describe(fin: bool, rsv: u8, opcode: u8, masked: bool, payload: &[u8]) -> String {
    let mut line = format!(
        "{} fin={} rsv={:03b} mask={} len={}",
        opcode_name(opcode),
        u8::from(fin),
        rsv & 0x7,
        u8::from(masked),
        payload.len()
    );
    if opcode == CLOSE && payload.len() >= 2 {
        let code = u16::from_be_bytes([payload[0], payload[1]]);
        let _ = write!(line, " code={code} reason={}", preview(&payload[2..]));
    } else if !payload.is_empty() {
        let _ = write!(line, " {}", preview(payload));
    }
    line
}

/// A payload in a few words: quoted text (escaped, clipped) when it is UTF-8, hex otherwise.
pub fn preview(payload: &[u8]) -> String {
    const TEXT_CLIP: usize = 60;
    const HEX_CLIP: usize = 32;
    match std::str::from_utf8(payload) {
        Ok(text) => {
            let clipped: String = text.chars().take(TEXT_CLIP).collect();
            let more = if clipped.len() < text.len() {
                "…"
            } else {
                ""
            };
            format!("\"{}\"{more}", clipped.escape_debug())
        }
        Err(_) => {
            let mut hex = String::from("0x");
            for byte in payload.iter().take(HEX_CLIP) {
                let _ = write!(hex, "{byte:02x}");
            }
            if payload.len() > HEX_CLIP {
                hex.push('…');
            }
            hex
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    #[test]
    fn the_rfc_example_frames() {
        // RFC 6455 5.7: a single-frame unmasked text "Hello", and the masked one.
        let mut head = Head::new(TEXT);
        head.masked = false;
        assert_eq!(
            encode(&head, KEY, b"Hello"),
            [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
        );
        head.masked = true;
        let masked = encode(&head, KEY, b"Hello");
        assert_eq!(
            masked,
            [
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
            ]
        );
        let (frame, used) = decode(&masked, 100).unwrap().unwrap();
        assert_eq!(used, masked.len());
        assert_eq!((frame.fin, frame.opcode, frame.masked), (true, TEXT, true));
        assert_eq!(frame.payload, b"Hello");
    }

    #[test]
    fn lengths_in_all_three_forms_round_trip() {
        for len in [0usize, 125, 126, 127, 65535, 65536] {
            let payload = vec![0xfe; len];
            let bytes = encode(&Head::new(BINARY), KEY, &payload);
            let header = bytes.len() - len;
            assert_eq!(
                header,
                2 + 4
                    + if len <= 125 {
                        0
                    } else if len <= 65535 {
                        2
                    } else {
                        8
                    }
            );
            let (frame, used) = decode(&bytes, 1 << 20).unwrap().unwrap();
            assert_eq!((frame.payload.len(), used), (len, bytes.len()));
            assert_eq!(frame.payload, payload);
        }
        let mut head = Head::new(TEXT);
        head.length_form = LengthForm::Bits64;
        let bytes = encode(&head, KEY, b"ab");
        assert_eq!(bytes[1] & 0x7F, 127);
        assert_eq!(decode(&bytes, 10).unwrap().unwrap().0.payload, b"ab");
    }

    #[test]
    fn rsv_opcode_fin_and_a_lying_length_are_written_as_asked() {
        let head = Head {
            fin: false,
            rsv: 0b101,
            opcode: 0xB,
            masked: false,
            declared_len: Some(300),
            length_form: LengthForm::Minimal,
        };
        let bytes = encode(&head, KEY, b"xy");
        assert_eq!(bytes[0], 0b0101_1011);
        assert_eq!(&bytes[1..4], &[126, 0x01, 0x2c]);
        assert_eq!(&bytes[4..], b"xy");
        // The reader waits for the 300 bytes announced.
        assert_eq!(decode(&bytes, 1000), Ok(None));
    }

    #[test]
    fn partial_input_waits_and_too_large_is_refused() {
        let bytes = encode(&Head::new(TEXT), KEY, b"hello");
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut], 100), Ok(None), "{cut}");
        }
        let big = encode(&Head::new(BINARY), KEY, &[0u8; 200]);
        assert_eq!(
            decode(&big, 100),
            Err(TooLarge {
                declared: 200,
                cap: 100
            })
        );
    }

    #[test]
    fn masking_is_its_own_inverse_at_any_length() {
        for len in 0..20 {
            let data: Vec<u8> = (0..len as u8).collect();
            let mut masked = data.clone();
            apply_mask(&mut masked, KEY);
            if len > 0 {
                assert_eq!(masked[0], KEY[0]);
            }
            apply_mask(&mut masked, KEY);
            assert_eq!(masked, data);
        }
    }

    #[test]
    fn trace_lines_say_what_the_frame_is() {
        assert_eq!(
            describe(true, 0, TEXT, true, b"hello"),
            "text fin=1 rsv=000 mask=1 len=5 \"hello\""
        );
        assert_eq!(
            describe(true, 0, CLOSE, false, &[0x03, 0xea, b'o', b'k']),
            "close fin=1 rsv=000 mask=0 len=4 code=1002 reason=\"ok\""
        );
        assert_eq!(
            describe(false, 4, 3, false, &[0xff]),
            "op=3 fin=0 rsv=100 mask=0 len=1 0xff"
        );
    }
}
