//
// Copyright 2025 Staysail Systems, Inc. <info@staysail.tech>
// Copyright 2018 Capitar IT Group BV <info@capitar.com>
//
// This software is supplied under the terms of the MIT License, a
// copy of which should be located in the distribution where this
// file was obtained (LICENSE.txt).  A copy of the license may also be
// found online at https://opensource.org/licenses/MIT.
//

#include <string.h>

#include "../../../core/aio.h"
#include "../../../core/defs.h"
#include "../../../core/idhash.h"
#include "../../../core/list.h"
#include "../../../core/message.h"
#include "../../../core/msgqueue.h"
#include "../../../core/pipe.h"
#include "../../../core/platform.h"
#include "../../../core/protocol.h"
#include "../../../core/socket.h"

#define REQ0_SELF 0x30
#define REQ0_PEER 0x31
#define REQ0_SELF_NAME "req"
#define REQ0_PEER_NAME "rep"

// Request protocol.  The REQ protocol is the "request" side of a
// request-reply pair.  This is useful for building RPC clients, for example.

typedef struct xreq0_pipe xreq0_pipe;
typedef struct xreq0_sock xreq0_sock;
typedef struct xreq0_sent xreq0_sent;
typedef struct xreq0_client xreq0_client;

// nml: a request this socket sent, and the pipe it went on. A reply is taken
// only from a pipe its request went to, as req0 does (patch 0024): a raw req
// in a device passed on any reply whose backtrace named a client, so a worker
// behind a forwarder could answer the requests other workers had.
struct xreq0_sent {
	nni_list_node  order;  // in the socket's list, oldest first
	nni_list_node  mine;   // in its client's list, oldest first
	xreq0_sent    *same;   // the next with the same key
	xreq0_client  *client; // whose request it is
	uint64_t       key;
	uint32_t       pipe;
	size_t         len;
	uint8_t        header[]; // the backtrace, as sent
};

// nml: the requests that came from one client: the connection the backtrace's
// first word names, which the raw rep in front of this socket put there (a
// client behind another forwarder shares that forwarder's connection).
struct xreq0_client {
	uint32_t      id;   // the backtrace's first word
	uint32_t      held; // how many of its requests are remembered
	size_t        rank; // its place in the socket's heap, unless gone
	bool          gone; // its connection closed: its replies go nowhere
	nni_list_node node; // in the socket's list of gone clients
	nni_list      sent; // its xreq0_sent, oldest first
};

// How many requests are remembered; past this one is forgotten (its reply, if
// one comes, is refused and counted): the oldest of a client whose connection
// has closed, whose reply could go nowhere, else the oldest of the client
// holding the most, so that a client sending more than its share forgets its
// own. About 100 to 200 bytes each (the backtrace, up to 64, and the id map's
// share): 6.5 to 13 MiB at most. (8192 was met by nine clients of 1024
// requests in flight each.)
#define XREQ0_SENT_MAX 65536

// Which clients' connections have closed is looked up (in NNG's table of
// pipes) when room must be made and none is known, at most once every this
// many requests forgotten: a client that opens a connection per request
// would otherwise outnumber, and so push out, one that holds many.
#define XREQ0_SWEEP_EVERY 256

// An xreq0_sock is our per-socket protocol private structure.
struct xreq0_sock {
	nni_msgq      *uwq;
	nni_msgq      *urq;
	nni_atomic_int ttl;
	nni_mtx        mtx;    // nml: guards what follows
	nni_id_map     sent;   // key -> the newest xreq0_sent with it
	nni_list       order;  // every xreq0_sent, oldest first
	uint32_t       n_sent; // how many
	nni_id_map     clients;  // client id + 1 -> its xreq0_client
	xreq0_client **heap;     // the clients, the one holding most first
	size_t         n_heap;   // how many clients
	size_t         heap_cap; // room in heap
	nni_list       gone;     // clients whose connection closed
	uint32_t       forgotten; // requests forgotten for room since a sweep
	uint64_t       secret; // mixed into keys: peers cannot pick colliding ones
#ifdef NNG_ENABLE_STATS
	nni_stat_item stat_rx_discard; // replies refused
#endif
};

// A req0_pipe is our per-pipe protocol private structure.
struct xreq0_pipe {
	nni_pipe   *pipe;
	xreq0_sock *req;
	nni_aio     aio_getq;
	nni_aio     aio_send;
	nni_aio     aio_recv;
	nni_aio     aio_putq;
};

static void xreq0_sock_fini(void *);
static void xreq0_getq_cb(void *);
static void xreq0_send_cb(void *);
static void xreq0_recv_cb(void *);
static void xreq0_putq_cb(void *);

static void
xreq0_sock_init(void *arg, nni_sock *sock)
{
	xreq0_sock *s = arg;

#ifdef NNG_ENABLE_STATS
	static const nni_stat_info rx_discard_info = {
		.si_name = "rx_discard",
		.si_desc = "replies refused: from a pipe their request did not go "
		           "to, a second one, or for a request long forgotten",
		.si_type = NNG_STAT_COUNTER,
		.si_unit = NNG_UNIT_MESSAGES,
		.si_atomic = true, // nml: counted from pipe callbacks, locked or not
	};
	nni_stat_init(&s->stat_rx_discard, &rx_discard_info);
	nni_sock_add_stat(sock, &s->stat_rx_discard);
#endif
	nni_atomic_init(&s->ttl);
	nni_atomic_set(&s->ttl, 8);
	s->uwq = nni_sock_sendq(sock);
	s->urq = nni_sock_recvq(sock);
	nni_mtx_init(&s->mtx);
	nni_id_map_init(&s->sent, 0, 0, false);
	nni_id_map_init(&s->clients, 0, 0, false);
	s->heap     = NULL;
	s->n_heap   = 0;
	s->heap_cap = 0;
	NNI_LIST_INIT(&s->gone, xreq0_client, node);
	s->forgotten = XREQ0_SWEEP_EVERY; // the first time room is needed
	NNI_LIST_INIT(&s->order, xreq0_sent, order);
	s->n_sent = 0;
	s->secret = ((uint64_t) nni_random() << 32) | nni_random();
}

// nml: the key of a backtrace: each of its words mixed in turn with the
// socket's secret (splitmix64's finalizer), so that the id map's buckets
// spread and a client cannot choose backtraces that share a key.
static uint64_t
xreq0_key(const xreq0_sock *s, const uint8_t *header, size_t len)
{
	uint64_t k = s->secret;
	for (size_t at = 0; at + 4 <= len; at += 4) {
		uint32_t word;
		NNI_GET32(header + at, word);
		k ^= word;
		k ^= k >> 30;
		k *= 0xbf58476d1ce4e5b9ull;
		k ^= k >> 27;
		k *= 0x94d049bb133111ebull;
		k ^= k >> 31;
	}
	return (k != 0 ? k : 1); // the id map takes 0 for no key
}

// The record of this backtrace sent on `pipe`, or NULL.
static xreq0_sent *
xreq0_find(xreq0_sock *s, uint64_t key, const uint8_t *header, size_t len,
    uint32_t pipe)
{
	xreq0_sent *e;
	for (e = nni_id_get(&s->sent, key); e != NULL; e = e->same) {
		if (e->pipe == pipe && e->len == len &&
		    memcmp(e->header, header, len) == 0) {
			return (e);
		}
	}
	return (NULL);
}

static void
xreq0_sent_free(xreq0_sent *e)
{
	nni_free(e, sizeof(*e) + e->len);
}

// The clients form a binary max-heap on how many requests each holds, so
// that the one holding most is found at once when room must be made.
static void
xreq0_heap_place(xreq0_sock *s, size_t at, xreq0_client *c)
{
	s->heap[at] = c;
	c->rank     = at;
}

static void
xreq0_heap_up(xreq0_sock *s, size_t at)
{
	xreq0_client *c = s->heap[at];
	while (at > 0 && s->heap[(at - 1) / 2]->held < c->held) {
		xreq0_heap_place(s, at, s->heap[(at - 1) / 2]);
		at = (at - 1) / 2;
	}
	xreq0_heap_place(s, at, c);
}

static void
xreq0_heap_down(xreq0_sock *s, size_t at)
{
	xreq0_client *c = s->heap[at];
	for (;;) {
		size_t child = 2 * at + 1;
		if (child >= s->n_heap) {
			break;
		}
		if (child + 1 < s->n_heap &&
		    s->heap[child + 1]->held > s->heap[child]->held) {
			child++;
		}
		if (s->heap[child]->held <= c->held) {
			break;
		}
		xreq0_heap_place(s, at, s->heap[child]);
		at = child;
	}
	xreq0_heap_place(s, at, c);
}

// The client named by this backtrace, added (holding none) if new; NULL if
// memory runs out.
static xreq0_client *
xreq0_client_get(xreq0_sock *s, const uint8_t *header, size_t len)
{
	uint32_t      id = 0;
	xreq0_client *c;

	if (len >= 4) {
		NNI_GET32(header, id);
	}
	if ((c = nni_id_get(&s->clients, (uint64_t) id + 1)) != NULL) {
		return (c);
	}
	if (s->n_heap == s->heap_cap) {
		size_t         cap  = s->heap_cap == 0 ? 16 : s->heap_cap * 2;
		xreq0_client **heap = nni_alloc(cap * sizeof(*heap));
		if (heap == NULL) {
			return (NULL);
		}
		if (s->n_heap > 0) {
			memcpy(heap, s->heap, s->n_heap * sizeof(*heap));
		}
		if (s->heap != NULL) {
			nni_free(s->heap, s->heap_cap * sizeof(*heap));
		}
		s->heap     = heap;
		s->heap_cap = cap;
	}
	if ((c = NNI_ALLOC_STRUCT(c)) == NULL) {
		return (NULL);
	}
	if (nni_id_set(&s->clients, (uint64_t) id + 1, c) != NNG_OK) {
		NNI_FREE_STRUCT(c);
		return (NULL);
	}
	c->id   = id;
	c->held = 0;
	c->gone = false;
	NNI_LIST_NODE_INIT(&c->node);
	NNI_LIST_INIT(&c->sent, xreq0_sent, mine);
	xreq0_heap_place(s, s->n_heap++, c); // holding none: a leaf is right
	return (c);
}

// Takes c out of the heap.
static void
xreq0_heap_remove(xreq0_sock *s, xreq0_client *c)
{
	size_t at = c->rank;

	s->n_heap--;
	if (at < s->n_heap) { // the last one fills the hole, then finds its place
		xreq0_client *moved = s->heap[s->n_heap];
		xreq0_heap_place(s, at, moved);
		xreq0_heap_up(s, at);
		if (moved->rank == at) {
			xreq0_heap_down(s, at);
		}
	}
}

// Drops a client that holds no request any more.
static void
xreq0_client_drop(xreq0_sock *s, xreq0_client *c)
{
	nni_id_remove(&s->clients, (uint64_t) c->id + 1); // allocates nothing
	if (c->gone) {
		nni_list_remove(&s->gone, c);
	} else {
		xreq0_heap_remove(s, c);
	}
	NNI_FREE_STRUCT(c);
}

// When room must be made soon and no gone client is known, finds the clients
// whose connections have closed and moves them from the heap to the gone
// list, whose requests are forgotten first.
static void
xreq0_sweep(xreq0_sock *s)
{
	uint32_t *ids;
	size_t    n, i;

	nni_mtx_lock(&s->mtx);
	if (s->n_sent < XREQ0_SENT_MAX || !nni_list_empty(&s->gone) ||
	    s->forgotten < XREQ0_SWEEP_EVERY || s->n_heap == 0) {
		nni_mtx_unlock(&s->mtx);
		return;
	}
	s->forgotten = 0;
	n            = s->n_heap;
	if ((ids = nni_alloc(n * sizeof(*ids))) == NULL) {
		nni_mtx_unlock(&s->mtx);
		return;
	}
	for (i = 0; i < n; i++) {
		ids[i] = s->heap[i]->id;
	}
	nni_mtx_unlock(&s->mtx);

	for (i = 0; i < n; i++) {
		if (nni_pipe_id_open(ids[i])) { // the raw rep's, in front
			ids[i] = 0; // pipe ids are never 0
		}
	}

	nni_mtx_lock(&s->mtx);
	for (i = 0; i < n; i++) {
		xreq0_client *c;
		if (ids[i] != 0 &&
		    (c = nni_id_get(&s->clients, (uint64_t) ids[i] + 1)) != NULL &&
		    !c->gone) {
			xreq0_heap_remove(s, c);
			c->gone = true;
			nni_list_append(&s->gone, c);
		}
	}
	nni_mtx_unlock(&s->mtx);
	nni_free(ids, n * sizeof(*ids));
}

// Takes e off its key's chain and the socket's list, and frees it.
static void
xreq0_forget(xreq0_sock *s, xreq0_sent *e)
{
	xreq0_sent *first = nni_id_get(&s->sent, e->key);
	if (first == e) {
		if (e->same == NULL) {
			nni_id_remove(&s->sent, e->key); // allocates nothing
		} else if (nni_id_set(&s->sent, e->key, e->same) != NNG_OK) {
			// Setting may grow the map first, and that can fail. The
			// key must not keep pointing at e: it goes, and the rest
			// of its chain is cut off (unreachable, so never walked;
			// their replies are refused and counted; each is freed
			// when forgotten through the list).
			xreq0_sent *rest, *next;
			nni_id_remove(&s->sent, e->key);
			for (rest = e->same; rest != NULL; rest = next) {
				next       = rest->same;
				rest->same = NULL;
				rest->key  = 0; // not the key of any chain now
			}
		}
	} else if (e->key != 0) {
		while (first != NULL && first->same != e) {
			first = first->same;
		}
		if (first != NULL) {
			first->same = e->same;
		}
	}
	nni_list_remove(&s->order, e);
	s->n_sent--;
	nni_list_remove(&e->client->sent, e);
	if (--e->client->held == 0) {
		xreq0_client_drop(s, e->client);
	} else if (!e->client->gone) {
		xreq0_heap_down(s, e->client->rank);
	}
	xreq0_sent_free(e);
}

// Remembers that the request with this backtrace went on pipe `pipe` (a resend
// on the same pipe renews the record it has).
static void
xreq0_remember(xreq0_sock *s, nni_msg *msg, uint32_t pipe)
{
	size_t      len = nni_msg_header_len(msg);
	xreq0_sent *e, *had;

	if ((e = nni_alloc(sizeof(*e) + len)) == NULL) {
		return; // its reply will be refused, and counted
	}
	memcpy(e->header, nni_msg_header(msg), len);
	e->len  = len;
	e->pipe = pipe;
	e->key  = xreq0_key(s, e->header, len);
	NNI_LIST_NODE_INIT(&e->order);
	NNI_LIST_NODE_INIT(&e->mine);
	xreq0_sweep(s);
	nni_mtx_lock(&s->mtx);
	if ((had = xreq0_find(s, e->key, e->header, len, pipe)) != NULL) {
		nni_list_remove(&s->order, had);
		nni_list_append(&s->order, had);
		nni_list_remove(&had->client->sent, had);
		nni_list_append(&had->client->sent, had);
		nni_mtx_unlock(&s->mtx);
		xreq0_sent_free(e);
		return;
	}
	if ((e->client = xreq0_client_get(s, e->header, len)) == NULL) {
		nni_mtx_unlock(&s->mtx);
		xreq0_sent_free(e);
		return;
	}
	e->same = nni_id_get(&s->sent, e->key);
	if (nni_id_set(&s->sent, e->key, e) != 0) {
		if (e->client->held == 0) {
			xreq0_client_drop(s, e->client);
		}
		nni_mtx_unlock(&s->mtx);
		xreq0_sent_free(e);
		return;
	}
	nni_list_append(&s->order, e);
	s->n_sent++;
	nni_list_append(&e->client->sent, e);
	e->client->held++;
	if (!e->client->gone) {
		xreq0_heap_up(s, e->client->rank);
	}
	if (s->n_sent > XREQ0_SENT_MAX) {
		// A gone client's oldest, else the oldest of the client holding
		// most (the sender, when it floods).
		xreq0_client *c = nni_list_first(&s->gone);
		if (c == NULL) {
			c = s->heap[0];
		}
		xreq0_forget(s, nni_list_first(&c->sent));
		s->forgotten++;
	}
	nni_mtx_unlock(&s->mtx);
}

// True if a request with this backtrace went on `pipe`; then every record of
// it is forgotten, so that it is answered once.
static bool
xreq0_answered(xreq0_sock *s, nni_msg *msg, uint32_t pipe)
{
	size_t         len    = nni_msg_header_len(msg);
	const uint8_t *header = nni_msg_header(msg);
	uint64_t       key    = xreq0_key(s, header, len);
	xreq0_sent    *e, *next;
	bool           asked;

	nni_mtx_lock(&s->mtx);
	asked = xreq0_find(s, key, header, len, pipe) != NULL;
	if (asked) {
		for (e = nni_id_get(&s->sent, key); e != NULL; e = next) {
			next = e->same;
			if (e->len == len && memcmp(e->header, header, len) == 0) {
				xreq0_forget(s, e);
			}
		}
	}
	nni_mtx_unlock(&s->mtx);
	return (asked);
}

// Forgets the requests that went on a pipe that closed: it cannot answer.
static void
xreq0_forget_pipe(xreq0_sock *s, uint32_t pipe)
{
	xreq0_sent *e, *next;

	nni_mtx_lock(&s->mtx);
	for (e = nni_list_first(&s->order); e != NULL; e = next) {
		next = nni_list_next(&s->order, e);
		if (e->pipe == pipe) {
			xreq0_forget(s, e);
		}
	}
	nni_mtx_unlock(&s->mtx);
}

static void
xreq0_sock_open(void *arg)
{
	NNI_ARG_UNUSED(arg);
}

static void
xreq0_sock_close(void *arg)
{
	NNI_ARG_UNUSED(arg);
}

static void
xreq0_sock_fini(void *arg)
{
	xreq0_sock *s = arg;
	xreq0_sent *e;

	while ((e = nni_list_first(&s->order)) != NULL) {
		xreq0_forget(s, e);
	}
	if (s->heap != NULL) {
		nni_free(s->heap, s->heap_cap * sizeof(*s->heap));
	}
	nni_id_map_fini(&s->clients);
	nni_id_map_fini(&s->sent);
	nni_mtx_fini(&s->mtx);
}

static void
xreq0_pipe_stop(void *arg)
{
	xreq0_pipe *p = arg;

	nni_aio_stop(&p->aio_getq);
	nni_aio_stop(&p->aio_putq);
	nni_aio_stop(&p->aio_recv);
	nni_aio_stop(&p->aio_send);
	// nml: after the callbacks are done, none of which can then record a
	// request sent on this pipe.
	xreq0_forget_pipe(p->req, nni_pipe_id(p->pipe));
}

static void
xreq0_pipe_fini(void *arg)
{
	xreq0_pipe *p = arg;

	nni_aio_fini(&p->aio_getq);
	nni_aio_fini(&p->aio_putq);
	nni_aio_fini(&p->aio_recv);
	nni_aio_fini(&p->aio_send);
}

static int
xreq0_pipe_init(void *arg, nni_pipe *pipe, void *s)
{
	xreq0_pipe *p = arg;

	nni_aio_init(&p->aio_getq, xreq0_getq_cb, p);
	nni_aio_init(&p->aio_putq, xreq0_putq_cb, p);
	nni_aio_init(&p->aio_recv, xreq0_recv_cb, p);
	nni_aio_init(&p->aio_send, xreq0_send_cb, p);

	p->pipe = pipe;
	p->req  = s;
	return (0);
}

static int
xreq0_pipe_start(void *arg)
{
	xreq0_pipe *p = arg;
	xreq0_sock *s = p->req;

	if (nni_pipe_peer(p->pipe) != REQ0_PEER) {
		nng_log_warn("NNG-PEER-MISMATCH",
		    "Peer protocol mismatch: %d != %d, rejected.",
		    nni_pipe_peer(p->pipe), REQ0_PEER);
		return (NNG_EPROTO);
	}

	nni_msgq_aio_get(s->uwq, &p->aio_getq);
	nni_pipe_recv(p->pipe, &p->aio_recv);
	return (0);
}

static void
xreq0_pipe_close(void *arg)
{
	xreq0_pipe *p = arg;

	nni_aio_close(&p->aio_getq);
	nni_aio_close(&p->aio_putq);
	nni_aio_close(&p->aio_recv);
	nni_aio_close(&p->aio_send);
}

// For raw mode we can just let the pipes "contend" via get queue to get a
// message from the upper write queue.  The msg queue implementation
// actually provides ordering, so load will be spread automatically.
// (NB: We may have to revise this in the future if we want to provide some
// kind of priority.)

static void
xreq0_getq_cb(void *arg)
{
	xreq0_pipe *p = arg;

	if (nni_aio_result(&p->aio_getq) != NNG_OK) {
		nni_pipe_close(p->pipe);
		return;
	}

	nni_aio_set_msg(&p->aio_send, nni_aio_get_msg(&p->aio_getq));
	nni_aio_set_msg(&p->aio_getq, NULL);
	xreq0_remember(
	    p->req, nni_aio_get_msg(&p->aio_send), nni_pipe_id(p->pipe));

	nni_pipe_send(p->pipe, &p->aio_send);
}

static void
xreq0_send_cb(void *arg)
{
	xreq0_pipe *p = arg;

	if (nni_aio_result(&p->aio_send) != NNG_OK) {
		nni_msg_free(nni_aio_get_msg(&p->aio_send));
		nni_aio_set_msg(&p->aio_send, NULL);
		nni_pipe_close(p->pipe);
		return;
	}

	// Sent a message so we just need to look for another one.
	nni_msgq_aio_get(p->req->uwq, &p->aio_getq);
}

static void
xreq0_putq_cb(void *arg)
{
	xreq0_pipe *p = arg;

	if (nni_aio_result(&p->aio_putq) != NNG_OK) {
		nni_msg_free(nni_aio_get_msg(&p->aio_putq));
		nni_aio_set_msg(&p->aio_putq, NULL);
		nni_pipe_close(p->pipe);
		return;
	}
	nni_aio_set_msg(&p->aio_putq, NULL);

	nni_pipe_recv(p->pipe, &p->aio_recv);
}

static void
xreq0_recv_cb(void *arg)
{
	xreq0_pipe *p    = arg;
	xreq0_sock *sock = p->req;
	nni_msg    *msg;
	bool        end;

	if (nni_aio_result(&p->aio_recv) != NNG_OK) {
		nni_pipe_close(p->pipe);
		return;
	}

	msg = nni_aio_get_msg(&p->aio_recv);
	nni_aio_set_msg(&p->aio_recv, NULL);
	nni_msg_set_pipe(msg, nni_pipe_id(p->pipe));
	end = false;

	while (!end) {
		uint8_t *body;

		if (nni_msg_len(msg) < 4) {
			// Peer gave us garbage, so kick it.
			nni_msg_free(msg);
			nni_pipe_close(p->pipe);
			return;
		}
		body = nni_msg_body(msg);
		end  = ((body[0] & 0x80u) != 0);

		if (nng_msg_header_append(msg, body, sizeof(uint32_t)) != 0) {
			// TODO: bump a no-memory stat
			nni_msg_free(msg);
			// Closing the pipe may release some memory.
			// It at least gives an indication to the peer
			// that we've lost the message.
			nni_pipe_close(p->pipe);
			return;
		}
		nni_msg_trim(msg, sizeof(uint32_t));
	}
	if (!xreq0_answered(sock, msg, nni_pipe_id(p->pipe))) {
		// nml: not a reply to a request this pipe was sent.
#ifdef NNG_ENABLE_STATS
		nni_stat_inc(&sock->stat_rx_discard, 1);
#endif
		nni_msg_free(msg);
		nni_pipe_recv(p->pipe, &p->aio_recv);
		return;
	}
	nni_aio_set_msg(&p->aio_putq, msg);
	nni_msgq_aio_put(sock->urq, &p->aio_putq);
}

static void
xreq0_sock_send(void *arg, nni_aio *aio)
{
	xreq0_sock *s = arg;

	nni_msgq_aio_put(s->uwq, aio);
}

static void
xreq0_sock_recv(void *arg, nni_aio *aio)
{
	xreq0_sock *s = arg;

	nni_msgq_aio_get(s->urq, aio);
}

static nng_err
xreq0_sock_set_max_ttl(void *arg, const void *buf, size_t sz, nni_opt_type t)
{
	xreq0_sock *s = arg;
	int         ttl;
	nng_err     rv;
	if ((rv = nni_copyin_int(&ttl, buf, sz, 1, NNI_MAX_MAX_TTL, t)) ==
	    NNG_OK) {
		nni_atomic_set(&s->ttl, ttl);
	}
	return (rv);
}

static nng_err
xreq0_sock_get_max_ttl(void *arg, void *buf, size_t *szp, nni_opt_type t)
{
	xreq0_sock *s = arg;
	return (nni_copyout_int(nni_atomic_get(&s->ttl), buf, szp, t));
}

static nni_proto_pipe_ops xreq0_pipe_ops = {
	.pipe_size  = sizeof(xreq0_pipe),
	.pipe_init  = xreq0_pipe_init,
	.pipe_fini  = xreq0_pipe_fini,
	.pipe_start = xreq0_pipe_start,
	.pipe_close = xreq0_pipe_close,
	.pipe_stop  = xreq0_pipe_stop,
};

static nni_option xreq0_sock_options[] = {
	{
	    .o_name = NNG_OPT_MAXTTL,
	    .o_get  = xreq0_sock_get_max_ttl,
	    .o_set  = xreq0_sock_set_max_ttl,
	},
	// terminate list
	{
	    .o_name = NULL,
	},
};

static nni_proto_sock_ops xreq0_sock_ops = {
	.sock_size    = sizeof(xreq0_sock),
	.sock_init    = xreq0_sock_init,
	.sock_fini    = xreq0_sock_fini,
	.sock_open    = xreq0_sock_open,
	.sock_close   = xreq0_sock_close,
	.sock_options = xreq0_sock_options,
	.sock_send    = xreq0_sock_send,
	.sock_recv    = xreq0_sock_recv,
};

static nni_proto xreq0_proto = {
	.proto_self     = { REQ0_SELF, REQ0_SELF_NAME },
	.proto_peer     = { REQ0_PEER, REQ0_PEER_NAME },
	.proto_flags    = NNI_PROTO_FLAG_SNDRCV | NNI_PROTO_FLAG_RAW,
	.proto_sock_ops = &xreq0_sock_ops,
	.proto_pipe_ops = &xreq0_pipe_ops,
	.proto_ctx_ops  = NULL, // raw mode does not support contexts
};

int
nng_req0_open_raw(nng_socket *sock)
{
	return (nni_proto_open(sock, &xreq0_proto));
}
