//! The lexicon's word spellings, all in one string: a word is a slice of it, so reading a
//! remembered lexicon back (72,545 words) is one copy and one UTF-8 check, not a string
//! each.

/// Word spellings by id: `text` holds every word followed by a NUL; word `i` is
/// `text[starts[i]..starts[i + 1] - 1]`.
#[derive(Debug, Clone)]
pub(crate) struct Spellings {
    text: String,
    starts: Vec<u32>,
}

impl Spellings {
    /// The spellings of `words` (none may hold a NUL), in order. `None` when the text
    /// would pass 4 GB.
    pub(crate) fn new<'a>(words: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut text = String::new();
        let mut starts = vec![0];
        for w in words {
            debug_assert!(!w.contains('\0'));
            text.push_str(w);
            text.push('\0');
            starts.push(u32::try_from(text.len()).ok()?);
        }
        Some(Self { text, starts })
    }

    /// `count` NUL-terminated spellings, one after the other (what [`Spellings::text`]
    /// gives); `None` when `text` holds another number of them.
    pub(crate) fn from_text(count: usize, text: &str) -> Option<Self> {
        let mut starts = Vec::with_capacity(count + 1);
        starts.push(0);
        for (i, b) in text.bytes().enumerate() {
            if b == 0 {
                starts.push(u32::try_from(i + 1).ok()?);
            }
        }
        // Every byte belongs to a word: the text ends with the last word's NUL.
        (starts.len() == count + 1 && starts[count] as usize == text.len()).then(|| Self {
            text: text.to_string(),
            starts,
        })
    }

    /// Every spelling, each followed by a NUL.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Word `i`'s spelling.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &str {
        &self.text[self.starts[i] as usize..self.starts[i + 1] as usize - 1]
    }

    pub(crate) fn len(&self) -> usize {
        self.starts.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_through_their_text() {
        let s = Spellings::new(["ab", "", "çé"]).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!((s.get(0), s.get(1), s.get(2)), ("ab", "", "çé"));
        assert_eq!(s.text(), "ab\0\0çé\0");
        let back = Spellings::from_text(3, s.text()).unwrap();
        assert_eq!((back.get(0), back.get(1), back.get(2)), ("ab", "", "çé"));
        assert!(Spellings::from_text(2, s.text()).is_none());
        assert!(Spellings::from_text(3, "ab\0\0çé").is_none());
        let empty = Spellings::from_text(0, "").unwrap();
        assert_eq!(empty.len(), 0);
        assert_eq!(Spellings::new([]).unwrap().len(), 0);
    }
}
