/// Finding and fetching Kyutai's model files: the Hugging Face hub cache layout
/// (`HuggingFaceCache`), the files a Moshi model directory must hold (`KyutaiModelFiles`) and
/// `moshi download` (`HubDownloader`).
package enum ModelHub {
    /// Where files are downloaded from unless `HF_ENDPOINT` says otherwise.
    package static let defaultEndpoint = "https://huggingface.co"
    /// The repo `moshi` uses unless told otherwise (`[model] hf_repo`).
    package static let defaultRepo = "kyutai/moshiko-pytorch-bf16"
}
