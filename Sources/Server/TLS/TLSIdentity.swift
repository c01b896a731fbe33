import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// The certificate chain and private key `moshi serve` speaks TLS with: read from PEM files
/// (`server.tls_cert`, `server.tls_key`) or made at start (`--tls-self-signed`).
package struct TLSIdentity: Sendable {
    package let certificateChain: [NIOSSLCertificate]
    package let privateKey: NIOSSLPrivateKey
    /// SHA-256 of the leaf certificate's DER bytes, as `AB:CD:...` (what browsers show and
    /// `openssl x509 -fingerprint -sha256` prints), for checking a self-signed certificate.
    package let fingerprintSHA256: String
    /// The leaf certificate as PEM (what a client can pin or add to its trust store).
    package let certificatePEM: String

    /// Reads a PEM certificate chain (leaf first) and its PEM private key.
    package static func load(certificatePath: String, keyPath: String) throws(TLSIdentityError) -> TLSIdentity {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificatePath) } catch {
            throw TLSIdentityError("cannot read the TLS certificate \(certificatePath): \(error)")
        }
        guard let leaf = chain.first else { throw TLSIdentityError("\(certificatePath) holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyPath, format: .pem) } catch {
            throw TLSIdentityError("cannot read the TLS private key \(keyPath): \(error)")
        }
        let der: [UInt8]
        do { der = try leaf.toDERBytes() } catch { throw TLSIdentityError("cannot encode \(certificatePath): \(error)") }
        let pem = (try? String(contentsOfFile: certificatePath, encoding: .utf8)) ?? ""
        let identity = TLSIdentity(certificateChain: chain, privateKey: key, fingerprintSHA256: Self.fingerprint(der), certificatePEM: pem)
        _ = try identity.makeContext()   // a key that does not match the certificate fails here, by name
        return identity
    }

    /// A new P-256 key and a self-signed certificate for `names` (DNS names and IP addresses,
    /// as subject alternative names), valid from an hour ago for `days` days.
    package static func selfSigned(names: [String], days: Int = 30, now: Date = Date()) throws(TLSIdentityError) -> TLSIdentity {
        do {
            let key = P256.Signing.PrivateKey()
            let privateKey = Certificate.PrivateKey(key)
            let subject = try DistinguishedName {
                CommonName(names.first ?? "localhost")
                OrganizationName("SwiftMoshi (self-signed)")
            }
            var alternatives: [GeneralName] = []
            for name in names {
                if let address = IPv4Address(name) { alternatives.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(address.bytes)))) }
                else { alternatives.append(.dnsName(name)) }
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternatives)
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: privateKey.publicKey,
                notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(Double(days) * 86400),
                issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
                issuerPrivateKey: privateKey)
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            let der = serializer.serializedBytes
            let pem = try certificate.serializeAsPEM().pemString
            return TLSIdentity(
                certificateChain: [try NIOSSLCertificate(bytes: der, format: .der)],
                privateKey: try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem),
                fingerprintSHA256: fingerprint(der), certificatePEM: pem)
        } catch {
            throw TLSIdentityError("cannot make a self-signed certificate: \(error)")
        }
    }

    /// A server-side TLS context (TLS 1.2 and later, the certificate chain and key above).
    package func makeContext() throws(TLSIdentityError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        do { return try NIOSSLContext(configuration: configuration) } catch {
            throw TLSIdentityError("the TLS certificate and key do not work together: \(error)")
        }
    }

    static func fingerprint(_ der: [UInt8]) -> String {
        SHA256.hash(data: der).map { String(format: "%02X", $0) }.joined(separator: ":")
    }
}

/// Why a TLS identity could not be had; the text names the file or the step.
package struct TLSIdentityError: Error, CustomStringConvertible, Sendable {
    package let description: String
    init(_ description: String) { self.description = description }
}

/// A dotted-quad IPv4 address (for subject alternative names).
struct IPv4Address {
    let bytes: [UInt8]
    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard let value = UInt8(part) else { return nil }
            bytes.append(value)
        }
        self.bytes = bytes
    }
}
