/// A Hugging Face model repo id such as `kyutai/moshiko-pytorch-bf16`, checked so that it can be
/// used safely in URLs and cache folder names.
package struct RepoID: Sendable, Hashable, CustomStringConvertible {
    /// The organisation or user (`kyutai`); empty for the few legacy repos without one.
    package let owner: String
    /// The repo name (`moshiko-pytorch-bf16`).
    package let name: String

    /// Parses `owner/name` (or a bare legacy `name`): each part 1 to 96 characters of letters,
    /// digits, `-`, `_` and `.`, not starting or ending with `-` or `.`, without `--` or `..`
    /// (the rules `huggingface_hub` enforces).
    package init(_ text: String) throws(HubError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 1 || parts.count == 2, parts.allSatisfy(Self.isValidPart) else {
            throw HubError(.invalidRepo,
                "'\(text)' is not a Hugging Face repo id: expected ORG/NAME such as \(ModelHub.defaultRepo) (letters, digits, '-', '_', '.')")
        }
        owner = parts.count == 2 ? parts[0] : ""
        name = parts[parts.count - 1]
    }

    package var description: String { owner.isEmpty ? name : "\(owner)/\(name)" }

    /// The repo's folder in the hub cache: `models--ORG--NAME`.
    package var cacheFolderName: String {
        "models--" + (owner.isEmpty ? name : "\(owner)--\(name)")
    }

    private static func isValidPart(_ part: String) -> Bool {
        guard (1...96).contains(part.count), !part.contains("--"), !part.contains("..") else { return false }
        guard let first = part.first, let last = part.last,
              !"-.".contains(first), !"-.".contains(last) else { return false }
        return part.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": true
            default: false
            }
        }
    }
}
