//! Exchangers' quotes: posting one to a host's order book, and reading a pair's best quotes,
//! each decoded and its signature checked here rather than trusted to the host.

use myriad_api_types::{
    QuoteBatchAnswer, QuoteBook, QuoteResult, QuoteTaken, ReferenceRateInfo, POST_QUOTES_MAX,
};
use myriad_types::{decode, encode, Address, ChainId, SignedQuote};

use crate::client::{Client, ClientError};

impl Client {
    /// Puts a quote in the host's order book, which gossips it on.
    pub fn post_quote(&self, quote: &SignedQuote) -> Result<QuoteTaken, ClientError> {
        self.post(
            "/quotes",
            &serde_json::json!({ "quote": hex::encode(encode(quote)) }),
        )
    }

    /// Puts many quotes in the host's order book, in batches of at most
    /// [`POST_QUOTES_MAX`]; answers one result per quote, in order.
    pub fn post_quotes(&self, quotes: &[SignedQuote]) -> Result<Vec<QuoteResult>, ClientError> {
        let mut results = Vec::with_capacity(quotes.len());
        for batch in quotes.chunks(POST_QUOTES_MAX) {
            let hex: Vec<String> = batch.iter().map(|q| hex::encode(encode(q))).collect();
            let answer: QuoteBatchAnswer =
                self.post("/quotes", &serde_json::json!({ "quotes": hex }))?;
            if answer.results.len() != batch.len() {
                return Err(ClientError::Malformed {
                    url: self.url().to_owned(),
                    reason: format!(
                        "{} results for a batch of {} quotes",
                        answer.results.len(),
                        batch.len()
                    ),
                });
            }
            results.extend(answer.results);
        }
        Ok(results)
    }

    /// The pair's live quotes, best first for the holder, at most `depth`. Each is checked:
    /// it decodes, its exchanger signed it, and it is for the pair asked; a host that serves
    /// one that is not is lying, and this says so.
    pub fn quotes(
        &self,
        give: &ChainId,
        get: &ChainId,
        depth: usize,
    ) -> Result<Vec<SignedQuote>, ClientError> {
        let book: QuoteBook = self.get(&format!("/quotes?give={give}&get={get}&depth={depth}"))?;
        book.quotes
            .iter()
            .map(|info| {
                let lie = |reason: String| ClientError::Malformed {
                    url: self.url().to_owned(),
                    reason,
                };
                let bytes = hex::decode(&info.quote)
                    .map_err(|e| lie(format!("a quote is not hex: {e}")))?;
                let signed: SignedQuote =
                    decode("quote", &bytes).map_err(|e| lie(e.to_string()))?;
                signed
                    .verify_signature()
                    .map_err(|e| lie(format!("it served quote {} whose {e}", signed.hash())))?;
                if (signed.quote.give_chain, signed.quote.get_chain) != (*give, *get) {
                    return Err(lie(format!(
                        "it served quote {} of another pair",
                        signed.hash()
                    )));
                }
                Ok(signed)
            })
            .collect()
    }

    /// The reference rate of `chain`'s currency in `other`'s, from the host's order book,
    /// leaving out the quotes of `exclude`.
    pub fn reference_rate(
        &self,
        chain: &ChainId,
        other: &ChainId,
        exclude: Option<&Address>,
    ) -> Result<ReferenceRateInfo, ClientError> {
        match exclude {
            Some(exchanger) => self.get(&format!("/rates/{chain}?in={other}&exclude={exchanger}")),
            None => self.get(&format!("/rates/{chain}?in={other}")),
        }
    }
}
