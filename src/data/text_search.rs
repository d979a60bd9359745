//! Full-text search, `{"field": {"$text": {"$search": {"$term": …}}}}`, as Parse Server serves
//! it on MongoDB: the term splits into words (a `"quoted phrase"` must appear whole, a `-word`
//! must not appear), a document matches when it holds any word (or, with phrases, every
//! phrase), English stop words are ignored, and case and diacritics are folded unless
//! `$caseSensitive` / `$diacriticSensitive` say otherwise. The score is MongoDB's: each matched
//! word adds `0.5 × occurrences / words + 0.5`, so `order=$score` ranks closer matches first.
//! Words are compared whole, without stemming.

use serde_json::{Map, Value};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Words MongoDB's English text index skips (a subset of its list: the common ones).
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "do", "for", "from", "had", "has", "have", "he", "her", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "no", "not", "of", "on", "or", "our", "she", "so", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "to", "too", "was", "we", "were", "what", "when", "which", "who", "will", "with", "you",
    "your",
];

/// A compiled `$search`.
#[derive(Debug, Clone)]
pub struct TextSearch {
    words: Vec<String>,
    phrases: Vec<String>,
    excluded: Vec<String>,
    case_sensitive: bool,
    diacritic_sensitive: bool,
    english: bool,
}

impl TextSearch {
    /// Reads the operand of `$text`; a malformed one is an error in Parse Server's words
    /// (`bad $text: …`), which the caller answers with 107.
    pub fn parse(operand: &Value) -> Result<TextSearch, String> {
        let search = match operand.get("$search") {
            Some(Value::Object(search)) => search,
            _ => return Err("bad $text: $search, should be object".into()),
        };
        for key in search.keys() {
            if !matches!(key.as_str(), "$term" | "$language" | "$caseSensitive" | "$diacriticSensitive") {
                return Err(format!("bad $text: {key}, unknown option"));
            }
        }
        let term = match search.get("$term") {
            Some(Value::String(term)) if !term.trim().is_empty() => term,
            _ => return Err("bad $text: $term, should be string".into()),
        };
        let language = match search.get("$language") {
            None => "english",
            Some(Value::String(language)) => language.as_str(),
            Some(_) => return Err("bad $text: $language, should be string".into()),
        };
        let flag = |key: &str| match search.get(key) {
            None => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err(format!("bad $text: {key}, should be boolean")),
        };
        let mut text = TextSearch {
            words: Vec::new(),
            phrases: Vec::new(),
            excluded: Vec::new(),
            case_sensitive: flag("$caseSensitive")?,
            diacritic_sensitive: flag("$diacriticSensitive")?,
            english: matches!(language, "english" | "en"),
        };
        let mut rest = String::new();
        // Odd parts are inside quotes; a phrase's words also count toward the score.
        for (n, part) in term.split('"').enumerate() {
            if n % 2 == 1 && !part.trim().is_empty() {
                text.phrases.push(text.fold(part.trim()));
            }
            rest.push(' ');
            rest.push_str(part);
        }
        for raw in rest.split_whitespace() {
            let (negated, raw) = raw.strip_prefix('-').map_or((false, raw), |word| (true, word));
            for word in text.words_of(raw) {
                if negated {
                    text.excluded.push(word);
                } else if !text.words.contains(&word) {
                    text.words.push(word);
                }
            }
        }
        if text.words.is_empty() && text.phrases.is_empty() {
            return Err("bad $text: $term, has no word to search".into());
        }
        Ok(text)
    }

    /// Whether a stored value (a string) matches.
    pub fn matches(&self, stored: Option<&Value>) -> bool {
        self.score(stored).is_some()
    }

    /// The MongoDB text score of a stored value, None when it does not match.
    pub fn score(&self, stored: Option<&Value>) -> Option<f64> {
        let Some(Value::String(text)) = stored else { return None };
        let folded = self.fold(text);
        if !self.phrases.iter().all(|phrase| folded.contains(phrase.as_str())) {
            return None;
        }
        let tokens = self.words_of(text);
        if self.excluded.iter().any(|word| tokens.contains(word)) {
            return None;
        }
        let mut score = 0.0;
        for word in &self.words {
            let count = tokens.iter().filter(|token| *token == word).count();
            if count > 0 {
                score += 0.5 * count as f64 / tokens.len() as f64 + 0.5;
            }
        }
        // With phrases, matching them all is enough; else some word must match.
        (score > 0.0 || !self.phrases.is_empty()).then_some(score)
    }

    /// The words of a text as compared: split on what is neither letter nor digit, folded,
    /// English stop words dropped.
    fn words_of(&self, text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .map(|word| self.fold(word))
            .filter(|word| !(self.english && ENGLISH_STOP_WORDS.contains(&word.to_lowercase().as_str())))
            .collect()
    }

    fn fold(&self, text: &str) -> String {
        let text = if self.case_sensitive { text.to_string() } else { text.to_lowercase() };
        if self.diacritic_sensitive {
            text
        } else {
            text.nfd().filter(|c| !is_combining_mark(*c)).collect()
        }
    }
}

/// Adds the `score` a full-text search gives `object` when the keys asked for `$score`, as
/// Parse Server projects it.
pub fn add_score(object: &mut Map<String, Value>, score: Option<f64>) {
    if let Some(score) = score {
        object.insert("score".into(), Value::from(score));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn search(operand: Value) -> TextSearch {
        TextSearch::parse(&operand).expect("valid")
    }

    #[test]
    fn words_phrases_negation_case_and_diacritics() {
        let coffee = search(json!({"$search": {"$term": "coffee"}}));
        assert_eq!(coffee.score(Some(&json!("coffee"))), Some(1.0));
        assert_eq!(coffee.score(Some(&json!("Coffee Shopping"))), Some(0.75));
        assert_eq!(coffee.score(Some(&json!("coffee and cream"))), Some(0.75), "stop words do not count");
        assert_eq!(coffee.score(Some(&json!("Café Con Leche"))), None);
        assert_eq!(coffee.score(Some(&json!(7))), None);

        let cafe = search(json!({"$search": {"$term": "cafe"}}));
        assert!(cafe.matches(Some(&json!("Café con leche"))));
        let strict = search(json!({"$search": {"$term": "cafe", "$diacriticSensitive": true, "$caseSensitive": true}}));
        assert!(!strict.matches(Some(&json!("Café"))) && !strict.matches(Some(&json!("Cafe"))));
        assert!(strict.matches(Some(&json!("de cafe com"))));

        let phrase = search(json!({"$search": {"$term": "\"con leche\" cafe -coffee"}}));
        assert!(phrase.matches(Some(&json!("Cafe con Leche"))));
        assert!(!phrase.matches(Some(&json!("cafe leche con"))), "the phrase must appear whole");
        assert!(!phrase.matches(Some(&json!("coffee con leche"))), "a -word excludes");
        let only_phrase = search(json!({"$search": {"$term": "\"con leche\""}}));
        assert!(only_phrase.matches(Some(&json!("café con leche"))));
    }

    #[test]
    fn malformed_searches_say_what_is_wrong() {
        for (operand, message) in [
            (json!("coffee"), "bad $text: $search, should be object"),
            (json!({"$search": {}}), "bad $text: $term, should be string"),
            (json!({"$search": {"$term": 5}}), "bad $text: $term, should be string"),
            (json!({"$search": {"$term": "a", "$language": 1}}), "bad $text: $language, should be string"),
            (json!({"$search": {"$term": "a", "$caseSensitive": "yes"}}), "bad $text: $caseSensitive, should be boolean"),
            (json!({"$search": {"$term": "a", "notAnOption": true}}), "bad $text: notAnOption, unknown option"),
            (json!({"$search": {"$term": "the and"}}), "bad $text: $term, has no word to search"),
        ] {
            assert_eq!(TextSearch::parse(&operand).unwrap_err(), message, "{operand}");
        }
    }
}
