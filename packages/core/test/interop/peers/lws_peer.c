/*
 * Interop peer: libwebsockets (Debian's libwebsockets-dev), as an echo server or as a checking client.
 *
 *   lws_peer server [--deflate]        prints "listening PORT"; echoes every message with its type; a text
 *                                      "close:CODE:REASON" closes with that code, "fragments" sends a text
 *                                      message in fragments that split a multi-byte character.
 *   lws_peer client PORT [--deflate]   runs the checks against an echo server on 127.0.0.1:PORT and prints
 *                                      one JSON report.
 *
 * Debian's packaged test server broadcasts instead of echoing and turns binary into text, hence this file.
 * libwebsockets hands a received close payload to the application only when the peer starts the closing
 * handshake (LWS_CALLBACK_WS_PEER_INITIATED_CLOSE); the answer to a close it sent itself is not exposed.
 */
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_FRAMES 16

struct out_frame {
	unsigned char *buf; /* LWS_PRE bytes of headroom, then the payload */
	size_t len;
	int flags;
};

struct conn {
	unsigned char *msg;
	size_t msg_len, msg_cap;
	struct out_frame queue[MAX_FRAMES];
	int queued, sent;
};

static volatile int interrupted;
static int deflate_on;

static void queue_frame(struct conn *c, const unsigned char *data, size_t len, int flags)
{
	struct out_frame *f = &c->queue[c->queued++];
	f->buf = malloc(LWS_PRE + len + 1);
	if (len)
		memcpy(f->buf + LWS_PRE, data, len);
	f->len = len;
	f->flags = flags;
}

/* Writes one queued frame per writable callback, as libwebsockets asks. Returns -1 on failure. */
static int write_next(struct lws *wsi, struct conn *c)
{
	if (c->sent == c->queued)
		return 0;
	struct out_frame *f = &c->queue[c->sent++];
	int n = lws_write(wsi, f->buf + LWS_PRE, f->len, (enum lws_write_protocol)f->flags);
	free(f->buf);
	if (n < (int)f->len)
		return -1;
	if (c->sent == c->queued)
		c->sent = c->queued = 0;
	else
		lws_callback_on_writable(wsi);
	return 0;
}

/* Appends a received chunk; returns 1 when the message is complete. */
static int receive_chunk(struct lws *wsi, struct conn *c, const void *in, size_t len)
{
	if (c->msg_len + len + 1 > c->msg_cap) {
		c->msg_cap = (c->msg_len + len + 1) * 2;
		c->msg = realloc(c->msg, c->msg_cap);
	}
	memcpy(c->msg + c->msg_len, in, len);
	c->msg_len += len;
	c->msg[c->msg_len] = 0;
	return lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
}

/* "fragmented κόσμε" in three frames, the 2-byte "ό" split between the second and the third. */
static const char FRAGMENTED[] = "fragmented \xce\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xb5";

static void queue_fragments(struct conn *c)
{
	const unsigned char *s = (const unsigned char *)FRAGMENTED;
	queue_frame(c, s, 6, LWS_WRITE_TEXT | LWS_WRITE_NO_FIN);
	queue_frame(c, s + 6, 8, LWS_WRITE_CONTINUATION | LWS_WRITE_NO_FIN);
	queue_frame(c, s + 14, strlen(FRAGMENTED) - 14, LWS_WRITE_CONTINUATION);
}

/* ---- server ------------------------------------------------------------------------------------------ */

static int server_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct conn *c = user;
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		memset(c, 0, sizeof(*c));
		break;
	case LWS_CALLBACK_RECEIVE: {
		int binary = lws_frame_is_binary(wsi);
		if (!receive_chunk(wsi, c, in, len))
			break;
		if (!binary && !strncmp((char *)c->msg, "close:", 6)) {
			int code = atoi((char *)c->msg + 6);
			char *why = strchr((char *)c->msg + 6, ':');
			why = why ? why + 1 : "";
			lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)why, strlen(why));
			c->msg_len = 0;
			return -1;
		}
		if (!binary && !strcmp((char *)c->msg, "fragments"))
			queue_fragments(c);
		else
			queue_frame(c, c->msg, c->msg_len, binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
		c->msg_len = 0;
		lws_callback_on_writable(wsi);
		break;
	}
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return write_next(wsi, c);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2) {
			const unsigned char *p = in;
			printf("closed %d %.*s\n", (p[0] << 8) | p[1], (int)(len - 2), (const char *)p + 2);
			fflush(stdout);
		}
		break;
	case LWS_CALLBACK_CLOSED:
		free(c->msg);
		c->msg = NULL;
		break;
	default:
		break;
	}
	return 0;
}

/* ---- client ------------------------------------------------------------------------------------------ */

enum step_kind { SEND_TEXT, SEND_BINARY, SEND_FRAGMENTS, SEND_FRAGMENTS_COMMAND, SEND_PING, SEND_CLOSE_COMMAND, DONE };
struct step {
	enum step_kind kind;
	const char *name;
	size_t size;
};
static const struct step steps[] = {
	{ SEND_TEXT, "text-ascii", 0 },
	{ SEND_TEXT, "text-utf8", 0 },
	{ SEND_BINARY, "binary-0", 0 },
	{ SEND_BINARY, "binary-125", 125 },
	{ SEND_BINARY, "binary-126", 126 },
	{ SEND_BINARY, "binary-65535", 65535 },
	{ SEND_BINARY, "binary-65536", 65536 },
	{ SEND_BINARY, "binary-1MiB", 1 << 20 },
	/* Check names are our side's: this peer sends fragments (we receive), then asks for ours. */
	{ SEND_FRAGMENTS, "fragments-in", 0 },
	{ SEND_FRAGMENTS_COMMAND, "fragments-out", 0 },
	{ SEND_PING, "peer-ping", 0 },
	{ SEND_CLOSE_COMMAND, "close-from-us", 0 },
	{ DONE, NULL, 0 },
};
static const char *TEXTS[] = { "hello, switchboard", "\xce\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xb5 \xf0\x9f\x9a\x80 \xc3\xbc\x6e\xc3\xaf\x63\xc3\xb6\x64\xc3\xa9 \xe4\xb8\x96\xe7\x95\x8c" };

static struct lws_context *context;
static int port_number;
static int step_index;
static int checks[16];
static int skipped[16];
static char subprotocol[64];
static char extensions[256];
static int close_code_seen = -1;
static char close_reason_seen[128];
static int phase; /* 0: checks, 1: second connection that closes with 4000, 2: finished */
static int awaiting; /* the current step's frames are out: wait for its answer, not for another writable */
static int awaited_step = -1;
static time_t awaiting_since;
static struct lws *client_wsi;
static lws_sorted_usec_list_t step_timer;
#define STEP_TIMEOUT 5

/* Once a second: a step whose answer has not come within STEP_TIMEOUT seconds fails, and the rest run. */
static void step_timeout(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	if (phase == 0 && awaiting && steps[step_index].kind != SEND_CLOSE_COMMAND) {
		if (awaited_step != step_index) {
			awaited_step = step_index;
			awaiting_since = time(NULL);
		} else if (time(NULL) - awaiting_since > STEP_TIMEOUT) {
			fprintf(stderr, "%s: no answer within %d s\n", steps[step_index].name, STEP_TIMEOUT);
			step_index++;
			awaiting = 0;
			lws_callback_on_writable(client_wsi);
		}
	}
	lws_sul_schedule(context, 0, &step_timer, step_timeout, LWS_US_PER_SEC);
}
static struct conn client_conn;

static unsigned char *pattern(size_t size)
{
	unsigned char *p = malloc(size + 1);
	for (size_t i = 0; i < size; i++)
		p[i] = (unsigned char)((i * 7 + 3) & 0xff);
	return p;
}

static void connect_client(void);

static int client_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct conn *c = &client_conn;
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		/* The response headers are still there; by ESTABLISHED they are freed. */
		if (phase == 0) {
			lws_hdr_copy(wsi, subprotocol, sizeof subprotocol, WSI_TOKEN_PROTOCOL);
			lws_hdr_copy(wsi, extensions, sizeof extensions, WSI_TOKEN_EXTENSIONS);
		}
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		client_wsi = wsi;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "connection error: %s\n", in ? (char *)in : "");
		interrupted = 1;
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		if (phase == 1) {
			lws_close_reason(wsi, (enum lws_close_status)4000, (unsigned char *)"bye from peer", 13);
			return -1;
		}
		if (c->queued) {
			int r = write_next(wsi, c);
			if (!c->queued)
				awaiting = 1;
			return r;
		}
		if (awaiting)
			return 0;
		const struct step *s = &steps[step_index];
		/* With permessage-deflate, libwebsockets 4.1.6 asserts (pm_deflate "FAIL want to trim out length 0")
		   when it compresses an empty message, and spins without sending when the client writes a ping:
		   those two checks are reported as not run. */
		while (deflate_on && ((s->kind == SEND_BINARY && s->size == 0) || s->kind == SEND_PING)) {
			skipped[step_index++] = 1;
			s = &steps[step_index];
		}
		unsigned char ping[LWS_PRE + 16];
		switch (s->kind) {
		case SEND_TEXT:
			queue_frame(c, (const unsigned char *)TEXTS[step_index], strlen(TEXTS[step_index]), LWS_WRITE_TEXT);
			break;
		case SEND_BINARY: {
			unsigned char *p = pattern(s->size);
			queue_frame(c, p, s->size, LWS_WRITE_BINARY);
			free(p);
			break;
		}
		case SEND_FRAGMENTS:
			queue_fragments(c);
			break;
		case SEND_FRAGMENTS_COMMAND:
			queue_frame(c, (const unsigned char *)"fragments", 9, LWS_WRITE_TEXT);
			break;
		case SEND_PING:
			memcpy(ping + LWS_PRE, "are you there", 13);
			lws_write(wsi, ping + LWS_PRE, 13, LWS_WRITE_PING);
			awaiting = 1;
			return 0;
		case SEND_CLOSE_COMMAND: {
			const char *command = "close:4001:bye from switchboard";
			queue_frame(c, (const unsigned char *)command, strlen(command), LWS_WRITE_TEXT);
			break;
		}
		case DONE:
			return 0;
		}
		int r = write_next(wsi, c);
		if (!c->queued)
			awaiting = 1;
		return r;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE: {
		int binary = lws_frame_is_binary(wsi);
		if (!receive_chunk(wsi, c, in, len))
			break;
		const struct step *s = &steps[step_index];
		int ok = 0;
		if (s->kind == SEND_PING || s->kind == SEND_CLOSE_COMMAND || s->kind == DONE) {
			fprintf(stderr, "unexpected message during %s\n", s->name ? s->name : "the end");
			c->msg_len = 0;
			break;
		}
		if (s->kind == SEND_TEXT)
			ok = !binary && c->msg_len == strlen(TEXTS[step_index]) && !memcmp(c->msg, TEXTS[step_index], c->msg_len);
		else if (s->kind == SEND_BINARY) {
			unsigned char *p = pattern(s->size);
			ok = binary && c->msg_len == s->size && !memcmp(c->msg, p, s->size);
			free(p);
		} else if (s->kind == SEND_FRAGMENTS || s->kind == SEND_FRAGMENTS_COMMAND)
			ok = !binary && !strcmp((char *)c->msg, FRAGMENTED);
		checks[step_index] = ok;
		if (getenv("LWS_PEER_DEBUG"))
			fprintf(stderr, "%s: %s (%zu bytes)\n", s->name, ok ? "ok" : "FAILED", c->msg_len);
		c->msg_len = 0;
		step_index++;
		awaiting = 0;
		lws_callback_on_writable(wsi);
		break;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		if (steps[step_index].kind == SEND_PING) {
			checks[step_index] = len == 13 && !memcmp(in, "are you there", 13);
			step_index++;
			awaiting = 0;
			lws_callback_on_writable(wsi);
		}
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2) {
			const unsigned char *p = in;
			close_code_seen = (p[0] << 8) | p[1];
			snprintf(close_reason_seen, sizeof close_reason_seen, "%.*s", (int)(len - 2), (const char *)p + 2);
		}
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (phase == 0) {
			if (steps[step_index].kind == SEND_CLOSE_COMMAND)
				checks[step_index] = close_code_seen == 4001 && !strcmp(close_reason_seen, "bye from switchboard");
			phase = 1;
			connect_client();
		} else {
			phase = 2;
			interrupted = 1;
		}
		break;
	default:
		break;
	}
	return 0;
}

static void connect_client(void)
{
	struct lws_client_connect_info info;
	memset(&info, 0, sizeof info);
	info.context = context;
	info.address = "127.0.0.1";
	info.port = port_number;
	info.path = "/";
	info.host = "127.0.0.1";
	info.origin = "127.0.0.1";
	info.protocol = "pubsub.v1";
	if (!lws_client_connect_via_info(&info)) {
		fprintf(stderr, "lws_client_connect_via_info failed\n");
		interrupted = 1;
	}
}

static void print_report(void)
{
	printf("{\"subprotocol\":\"%s\",\"extensions\":\"%s\",\"checks\":{", subprotocol, extensions);
	for (int i = 0; steps[i].kind != DONE; i++)
		printf("%s\"%s\":%s", i ? "," : "", steps[i].name, skipped[i] ? "null" : checks[i] ? "true" : "false");
	printf("}}\n");
	fflush(stdout);
}

/* ---- main -------------------------------------------------------------------------------------------- */

static const struct lws_extension deflate_extensions[] = {
	{ "permessage-deflate", lws_extension_callback_pm_deflate, "permessage-deflate; client_max_window_bits" },
	{ NULL, NULL, NULL },
};

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "server") && strcmp(argv[1], "client")) || (!strcmp(argv[1], "client") && argc < 3)) {
		fprintf(stderr, "usage: lws_peer server [--deflate] | lws_peer client PORT [--deflate]\n");
		return 2;
	}
	int server = !strcmp(argv[1], "server");
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--deflate"))
			deflate_on = 1;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	lws_set_log_level(LLL_ERR, NULL);

	struct lws_protocols protocols[] = {
		{ "pubsub.v1", server ? server_callback : client_callback, server ? sizeof(struct conn) : 0, 65536, 0, NULL, 0 },
		{ NULL, NULL, 0, 0, 0, NULL, 0 },
	};
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.protocols = protocols;
	info.port = server ? 0 : CONTEXT_PORT_NO_LISTEN;
	info.iface = server ? "127.0.0.1" : NULL;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	if (deflate_on)
		info.extensions = deflate_extensions;
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "lws_create_context failed\n");
		return 1;
	}
	if (server) {
		printf("listening %d\n", lws_get_vhost_listen_port(lws_get_vhost_by_name(context, "default")));
		fflush(stdout);
	} else {
		port_number = atoi(argv[2]);
		connect_client();
	}
	if (!server)
		lws_sul_schedule(context, 0, &step_timer, step_timeout, LWS_US_PER_SEC);
	while (!interrupted)
		if (lws_service(context, 0) < 0)
			break;
	lws_context_destroy(context);
	if (!server) {
		print_report();
		return phase == 2 ? 0 : 1;
	}
	return 0;
}
