// HTTP/1.0 connections, closed after their response as HTTP/1.0 wants.
//
// Hummingbird's HTTP/1 channel converts each request to the version-less
// HTTPTypes and closes a connection only when the request says
// `Connection: close`; a plain HTTP/1.0 request (no keep-alive) would keep
// its connection open, and a client that reads until the server closes (the
// Go compare's `/stats` check, as Go's server closes) would wait for ever.
// So an inbound handler before that conversion marks every request that does
// not keep its connection alive (NIO's `isKeepAlive`: HTTP/1.0 without
// `Connection: keep-alive`, or any `Connection: close`) with `Connection: close`.

import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Marks a request that does not keep its connection alive with
/// `Connection: close`, which Hummingbird closes the connection on.
final class MarkConnectionClose: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(var head) = unwrapInboundIn(data), !head.isKeepAlive,
           !head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) {
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.fireChannelRead(wrapInboundOut(.head(head)))
        } else {
            context.fireChannelRead(data)
        }
    }
}

/// What Hummingbird's `additionalChannelHandlers` can add (they go after the
/// HTTPTypes conversion): once in the pipeline, it puts a
/// `MarkConnectionClose` before the conversion, then passes everything on.
final class InstallMarkConnectionClose: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        if let codec = try? pipeline.handler(type: HTTP1ToHTTPServerCodec.self) {
            try? pipeline.addHandler(MarkConnectionClose(), position: .before(codec))
        }
    }
}
