// The baseline for the Redis fan-out benchmark: Socket.IO 4, one room per topic, in its own process.
// With a Redis URL it scales out the way Socket.IO documents, through `@socket.io/redis-adapter`.
//   node --import=tsx bench/servers/socketio-broker.ts PORT [REDIS_URL]
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const port = Number(process.argv[2]);
const redisUrl = process.argv[3];
const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
if (redisUrl !== undefined) {
  const publishing = new Redis(redisUrl);
  io.adapter(createAdapter(publishing, publishing.duplicate()));
}

io.on('connection', (socket) => {
  socket.on('subscribe', (topic: string) => {
    void socket.join(topic);
    socket.emit('subscribed');
  });
  socket.on('publish', (topic: string, data: unknown) => {
    io.to(topic).emit('message', topic, data);
  });
});
http.listen(port, '127.0.0.1');
