// An RTSP server for the live tests (npm devDependency rtsp-streaming-server): an encoder
// publishes to the publish port (ANNOUNCE/RECORD), readers play from the client port.
// It relays RTP over UDP only: it answers 461 to a TCP SETUP.
//   node tests/rtsp_server.js PUBLISH_PORT CLIENT_PORT RTP_PORT_START
// Prints one line per event, with the time in ms since the epoch: "ready", "record PATH",
// "play PATH", so a test knows when a reader joined the broadcast.
'use strict';
const lib = require('rtsp-streaming-server');
const { ClientServer, PublishServer } = lib;

const [publishPort, clientPort, rtpPortStart] = process.argv.slice(2).map(Number);
const say = (...words) => console.log(Date.now(), ...words);

for (const [cls, method, event] of [
  [PublishServer, 'recordRequest', 'record'],
  [ClientServer, 'playRequest', 'play'],
]) {
  const original = cls.prototype[method];
  cls.prototype[method] = async function (req, res) {
    await original.call(this, req, res);
    if (res.statusCode === 200) say(event, new URL(req.uri).pathname);
  };
}

const server = new lib.default({
  serverPort: publishPort,
  clientPort,
  rtpPortStart,
  rtpPortCount: 20,
});
server.start().then(
  () => say('ready'),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
process.on('SIGTERM', () => process.exit(0));
