#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A shell-style file pattern for `--include` (`model.q4*`, `*.safetensors`, `tokenizer_*`), matched
/// against a file's whole path in the repo the way `huggingface_hub` does it: `*` and `?` also match
/// `/`, `[...]` is a character class, and a pattern ending in `/` matches everything below that folder.
package struct FilePattern: Sendable, Hashable, CustomStringConvertible {
    package let pattern: String

    package init(_ pattern: String) {
        self.pattern = pattern
    }

    package var description: String { pattern }

    /// Whether `path` (a repo file name such as `model.q4.safetensors`) matches.
    package func matches(_ path: String) -> Bool {
        let effective = pattern.hasSuffix("/") ? pattern + "*" : pattern
        return fnmatch(effective, path, 0) == 0
    }

    /// The files any of `patterns` match (all of them when there are no patterns), in their order.
    package static func select(_ files: [String], including patterns: [FilePattern]) -> [String] {
        guard !patterns.isEmpty else { return files }
        return files.filter { file in patterns.contains { $0.matches(file) } }
    }
}
