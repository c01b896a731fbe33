import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP request over URLSession, run to completion on the calling thread, with the response
/// head and the body delivered to closures as they arrive (a 15 GB file never sits in memory).
///
/// URLSession's request timeout is an idle timeout: it fires when no bytes arrived for that long,
/// so a slow but live transfer goes on while a dead connection ends with an error.
final class HTTPExchange: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    /// What to do with the body after seeing the response head.
    enum Decision {
        case receive
        case cancel
    }

    struct Handlers {
        /// Called once with the final response head (a redirect's head when redirects are not followed).
        var response: (HTTPURLResponse) -> Decision = { _ in .receive }
        /// Called with each piece of the body; throwing cancels the request with that error.
        var data: (Data) throws -> Void = { _ in }
    }

    private let request: URLRequest
    private let followRedirects: Bool
    private let timeout: TimeInterval
    private let handlers: Handlers
    private let done = DispatchSemaphore(value: 0)
    // Written only from the session's serial delegate queue; read after `done` is signalled.
    private var response: HTTPURLResponse?
    private var failure: (any Error)?
    private var handlerError: (any Error)?

    private init(request: URLRequest, followRedirects: Bool, timeout: TimeInterval, handlers: Handlers) {
        self.request = request
        self.followRedirects = followRedirects
        self.timeout = timeout
        self.handlers = handlers
    }

    /// Runs `request`; returns the response head. A transport failure is `.network`, naming the URL's
    /// origin; an error thrown by `handlers.data` is rethrown as it is.
    static func run(_ request: URLRequest, followRedirects: Bool = true, timeout: TimeInterval,
                    handlers: Handlers = Handlers()) throws -> HTTPURLResponse {
        let exchange = HTTPExchange(request: request, followRedirects: followRedirects, timeout: timeout, handlers: handlers)
        return try exchange.perform()
    }

    private func perform() throws -> HTTPURLResponse {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = 7 * 24 * 3600
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
        var request = self.request
        request.timeoutInterval = timeout
        session.dataTask(with: request).resume()
        done.wait()
        session.finishTasksAndInvalidate()
        if let handlerError { throw handlerError }
        if let failure = failure as? HubError { throw failure }
        if let failure {
            throw HubError(.network, "cannot reach \(Self.origin(of: request.url)): \(Self.describe(failure))")
        }
        guard let response else {
            throw HubError(.badResponse, "\(request.url?.absoluteString ?? "?"): no HTTP response")
        }
        return response
    }

    // MARK: URLSessionDataDelegate

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        guard followRedirects, let url = newRequest.url else {
            completionHandler(nil)
            return
        }
        // Carry our own headers over (Range above all); credentials only to the same host.
        var next = URLRequest(url: url)
        next.httpMethod = request.httpMethod
        next.timeoutInterval = timeout
        for (name, value) in request.allHTTPHeaderFields ?? [:] {
            if name.caseInsensitiveCompare("Authorization") == .orderedSame, url.host != request.url?.host { continue }
            next.setValue(value, forHTTPHeaderField: name)
        }
        completionHandler(next)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else {
            failure = HubError(.badResponse, "\(request.url?.absoluteString ?? "?"): not an HTTP response")
            completionHandler(.cancel)
            return
        }
        self.response = http
        completionHandler(handlers.response(http) == .receive ? .allow : .cancel)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard handlerError == nil else { return }
        do {
            try handlers.data(data)
        } catch {
            handlerError = error
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        // A cancel we asked for (after the head, or from a handler) is not a network failure.
        if let error, response == nil || (error as NSError).code != NSURLErrorCancelled {
            failure = error
        }
        done.signal()
    }

    // MARK: Messages

    /// `https://host[:port]` of a URL, for messages.
    static func origin(of url: URL?) -> String {
        guard let url, let scheme = url.scheme, let host = url.host else { return url?.absoluteString ?? "?" }
        return "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
    }

    /// A transport error in words: URLSession's description plus the reason for the common codes.
    static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        let reason: String? = switch nsError.code {
        case NSURLErrorTimedOut: "timed out"
        case NSURLErrorCannotConnectToHost: "connection refused"
        case NSURLErrorCannotFindHost, NSURLErrorDNSLookupFailed: "host not found"
        case NSURLErrorNotConnectedToInternet, NSURLErrorNetworkConnectionLost: "no network connection"
        case NSURLErrorSecureConnectionFailed, NSURLErrorServerCertificateUntrusted: "TLS failure"
        default: nil
        }
        let text = nsError.localizedDescription
        guard let reason else { return text }
        return text.localizedCaseInsensitiveContains(reason) ? text : "\(reason) (\(text))"
    }
}
