// A WebTorrent peer for btref's interop matrix (tests/test_interop_matrix.py).
//
//   NODE_PATH=.npm-clients/node_modules node tests/webtorrent_peer.js SOURCE DIR PORT [HOST:PORT]
//
// SOURCE is a .torrent file or a magnet link, DIR the folder of the data (a seed's data is
// checked there first, as WebTorrent does for any torrent it adds), PORT the TCP port to
// listen on, HOST:PORT a peer to dial. It runs the library webtorrent-cli 4 runs, with what
// the command line cannot turn off turned off: DHT (it would contact public bootstrap
// nodes), local service discovery, uTP and web seeds. It prints one line per step and runs
// until it is killed.
'use strict'

const WebTorrent = require('webtorrent')

const [source, dir, port, peer] = process.argv.slice(2)
const client = new WebTorrent({ dht: false, lsd: false, utp: false, webSeeds: false, torrentPort: Number(port) })

client.on('error', (err) => {
  console.log(`error: ${err.message}`)
  process.exit(1)
})

const torrent = client.add(source, { path: dir })
torrent.on('infoHash', () => {
  console.log(`info hash ${torrent.infoHash}`)
  if (peer) torrent.addPeer(peer)
})
torrent.on('metadata', () => console.log(`metadata: ${torrent.name}, ${torrent.length} bytes`))
torrent.on('ready', () => console.log(`ready: ${torrent.pieces.length} pieces`))
torrent.on('done', () => console.log('done: every piece verified'))
torrent.on('warning', (err) => console.log(`warning: ${err.message || err}`))
torrent.on('wire', (wire, addr) => console.log(`wire: ${addr}`))

process.on('SIGTERM', () => client.destroy(() => process.exit(0)))
