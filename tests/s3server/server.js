// The S3-compatible server the test suite and the benches start on loopback:
// @20minutes/s3rver, which verifies SigV4 signatures and presigned-URL expiry.
//
//   node tests/s3server/server.js --directory DIR [--port 0] [--bucket NAME ...]
//
// Prints one JSON line {"address", "port"} once it listens; exits when its stdin closes
// (the parent died) or on SIGTERM/SIGINT. Credentials: S3RVER / S3RVER, path-style.
const { parseArgs } = require('node:util')
const S3rver = require('@20minutes/s3rver')

const { values } = parseArgs({
  options: {
    directory: { type: 'string' },
    address: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    bucket: { type: 'string', multiple: true, default: [] },
  },
})
if (!values.directory) {
  console.error('server.js: --directory is required')
  process.exit(2)
}

const server = new S3rver({
  address: values.address,
  port: Number(values.port),
  directory: values.directory,
  silent: true,
  configureBuckets: values.bucket.map((name) => ({ name })),
})

// s3rver checks a signature when a request carries one but has no ACLs: a request with no
// signature at all would be served. A real bucket is private, so refuse those here.
server.middleware.unshift(async (ctx, next) => {
  const signed =
    'authorization' in ctx.headers || 'X-Amz-Algorithm' in ctx.query || 'Signature' in ctx.query
  if (signed) return next()
  ctx.status = 403
  ctx.type = 'application/xml'
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<Error><Code>AccessDenied</Code><Message>Unsigned requests are refused</Message></Error>'
})

let closing = false
function shutdown() {
  if (closing) return
  closing = true
  server.close().finally(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
process.stdin.on('end', shutdown)
process.stdin.on('error', shutdown)
process.stdin.resume()

server.run().then(
  (address) => {
    process.stdout.write(`${JSON.stringify({ address: address.address, port: address.port })}\n`)
  },
  (err) => {
    console.error(err)
    process.exit(1)
  }
)
