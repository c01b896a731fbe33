/// Finding and fetching model files: the Hugging Face cache layout and `moshi download`.
public enum ModelHub {}
