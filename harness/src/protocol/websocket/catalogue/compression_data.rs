//! The payloads of the compression cases, made here instead of Autobahn's data files (which are
//! not ours to ship): five data sets of the same kinds, each generated once from a fixed seed so
//! that every run sends the same bytes. The text ones are ASCII, so that any slice of them is
//! UTF-8 (a text message must be).

use std::sync::OnceLock;

use super::super::model::Corpus;

/// Size of each data set: more than the largest message (128 KiB), so slices move through it.
const SIZE: usize = 192 * 1024;

/// A data set of the compression cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSet {
    /// JSON records (text; Autobahn's "Large JSON data file").
    Json,
    /// A grey bitmap with smooth shades and noise (binary; Autobahn's "Lena Picture").
    Bitmap,
    /// Prose from a small German vocabulary (sent binary, as Autobahn sends Goethe's Faust).
    Prose,
    /// An HTML page of lists and tables (text; Autobahn's "Large HTML file").
    Html,
    /// PDF-like objects around incompressible streams (binary; Autobahn's "A larger PDF").
    Pdf,
}

impl DataSet {
    /// Whether its messages are binary.
    pub fn binary(self) -> bool {
        matches!(self, DataSet::Bitmap | DataSet::Prose | DataSet::Pdf)
    }

    /// What it is, in words.
    pub fn words(self) -> &'static str {
        match self {
            DataSet::Json => "JSON records (text)",
            DataSet::Bitmap => "a grey bitmap (binary)",
            DataSet::Prose => "German prose (binary)",
            DataSet::Html => "an HTML page (text)",
            DataSet::Pdf => "PDF-like objects around random streams (binary)",
        }
    }

    /// Its bytes, made on first use.
    pub fn corpus(self) -> Corpus {
        static SETS: [OnceLock<Vec<u8>>; 5] = [const { OnceLock::new() }; 5];
        let (index, make): (usize, fn(&mut Rng) -> Vec<u8>) = match self {
            DataSet::Json => (0, json),
            DataSet::Bitmap => (1, bitmap),
            DataSet::Prose => (2, prose),
            DataSet::Html => (3, html),
            DataSet::Pdf => (4, pdf),
        };
        let bytes = SETS[index].get_or_init(|| {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ index as u64);
            let mut bytes = make(&mut rng);
            bytes.truncate(SIZE);
            bytes
        });
        Corpus(bytes)
    }
}

/// xorshift64*: the same numbers on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len())]
    }
}

const NAMES: &[&str] = &[
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
];
const WORDS: &[&str] = &[
    "der",
    "die",
    "das",
    "und",
    "ich",
    "nicht",
    "mit",
    "Geist",
    "Welt",
    "Herz",
    "Nacht",
    "Licht",
    "habe",
    "nun",
    "ach",
    "Philosophie",
    "Juristerei",
    "Medizin",
    "leider",
    "auch",
    "Theologie",
    "durchaus",
    "studiert",
    "mit",
    "heissem",
    "Bemuehn",
    "da",
    "steh",
    "armer",
    "Tor",
    "bin",
    "so",
    "klug",
    "als",
    "wie",
    "zuvor",
    "Magister",
    "heisse",
    "Doktor",
    "gar",
    "zehen",
    "Jahr",
];

fn json(rng: &mut Rng) -> Vec<u8> {
    let mut out = String::from("[\n");
    let mut id = 1000;
    while out.len() < SIZE {
        id += 1 + rng.below(7);
        let name = rng.pick(NAMES);
        out.push_str(&format!(
            "  {{\"id\": {id}, \"name\": \"{name}-{}\", \"email\": \"{name}{id}@example.org\", \
             \"active\": {}, \"score\": {}.{:03}, \"tags\": [\"{}\", \"{}\"], \
             \"address\": {{\"street\": \"{} Street {}\", \"zip\": \"{:05}\"}}}},\n",
            rng.below(10_000),
            rng.below(2) == 1,
            rng.below(100),
            rng.below(1000),
            rng.pick(NAMES),
            rng.pick(WORDS),
            rng.pick(NAMES),
            rng.below(300),
            rng.below(100_000),
        ));
    }
    out.into_bytes()
}

fn bitmap(rng: &mut Rng) -> Vec<u8> {
    // A BMP-like header, then 8-bit grey pixels: smooth shades with a little noise.
    let mut out = b"BM\x36\x04\x04\x00\x00\x00\x00\x00\x36\x04\x00\x00(\x00\x00\x00".to_vec();
    let width = 512;
    let mut pixel = 0usize;
    while out.len() < SIZE {
        let (x, y) = (pixel % width, pixel / width);
        let shade = (x * 3 + y * 5 + (x * y) / 97) % 200;
        out.push((shade + rng.below(24)) as u8);
        pixel += 1;
    }
    out
}

fn prose(rng: &mut Rng) -> Vec<u8> {
    let mut out = String::new();
    let mut line = 0;
    while out.len() < SIZE {
        let word = rng.pick(WORDS);
        out.push_str(word);
        line += word.len() + 1;
        match rng.below(12) {
            0 => out.push_str(", "),
            1 => out.push_str("! "),
            _ if line > 60 => {
                out.push_str("\r\n");
                line = 0;
            }
            _ => out.push(' '),
        }
    }
    out.into_bytes()
}

fn html(rng: &mut Rng) -> Vec<u8> {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><title>Index</title>\
         <link rel=\"stylesheet\" href=\"/style.css\"></head><body>\n<table class=\"list\">\n",
    );
    let mut row = 0;
    while out.len() < SIZE {
        row += 1;
        let name = rng.pick(NAMES);
        out.push_str(&format!(
            "<tr class=\"{}\"><td><a href=\"/items/{row}\">{name} {row}</a></td>\
             <td>{} {}</td><td class=\"num\">{}</td></tr>\n",
            if row % 2 == 0 { "even" } else { "odd" },
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.below(100_000),
        ));
    }
    out.into_bytes()
}

fn pdf(rng: &mut Rng) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut object = 0;
    while out.len() < SIZE {
        object += 1;
        let len = 200 + rng.below(3000);
        out.extend_from_slice(
            format!("{object} 0 obj\n<< /Length {len} /Filter /FlateDecode >>\nstream\n")
                .as_bytes(),
        );
        for _ in 0..len / 8 {
            out.extend_from_slice(&rng.next().to_le_bytes());
        }
        out.extend_from_slice(b"\nendstream\nendobj\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_sets_are_fixed_sized_and_text_where_sent_as_text() {
        for set in [
            DataSet::Json,
            DataSet::Bitmap,
            DataSet::Prose,
            DataSet::Html,
            DataSet::Pdf,
        ] {
            let Corpus(bytes) = set.corpus();
            assert_eq!(bytes.len(), SIZE, "{set:?}");
            assert_eq!(set.corpus(), Corpus(bytes), "made once");
            if !set.binary() {
                assert!(bytes.is_ascii(), "{set:?}: every slice is UTF-8");
            }
        }
        assert!(DataSet::Json.corpus().0.starts_with(b"[\n  {\"id\": "));
    }
}
