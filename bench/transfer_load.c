/*
 * transfer_load: many FTP transfers at once, for measuring a server's memory
 * under load (bench/workloads/transfer_memory.ts compiles and runs it).
 *
 * One thread per client, blocking sockets, a 64 KiB buffer each: the load
 * generator costs a few MiB and little CPU however many clients it runs, so
 * the server, not the client, is what the measurement shows. Every client
 * connects and logs in (AUTH TLS, PBSZ 0, PROT P first with --tls), then all
 * wait at one barrier and start their transfer at the same moment: RETR of
 * PATH (counting the bytes) or STOR of SIZE bytes to PATH.N. A TLS data
 * connection resumes the control connection's session, as FTPS servers ask.
 *
 *   transfer_load HOST PORT USER PASSWORD retr|stor PATH CLIENTS SIZE [--tls]
 *
 * Prints one line of JSON: {"ok":N,"errors":N,"bytes":N,"ms":N,"firstError":"..."}
 * and exits 0 (errors are counted, not fatal).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BUFFER_SIZE (64 * 1024)
#define LINE_SIZE 1024
#define TIMEOUT_S 120

static const char *host, *user, *password, *path;
static int port, clients, use_tls, upload;
static long long size;
static SSL_CTX *ctx;
static pthread_barrier_t start_barrier;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int ok_count, error_count;
static long long total_bytes;
static char first_error[256];
static unsigned char pattern[BUFFER_SIZE];

/* A connection: the socket and, with TLS, its SSL. */
struct conn {
  int fd;
  SSL *ssl;
  char line[LINE_SIZE];
  int have; /* bytes buffered in line */
};

struct client {
  int index;
  struct conn control;
  int logged_in;
  char error[200];
};

static void fail(struct client *c, const char *format, ...) {
  if (c->error[0]) return;
  va_list args;
  va_start(args, format);
  vsnprintf(c->error, sizeof c->error, format, args);
  va_end(args);
}

static int tcp_connect(int to_port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct timeval tv = {TIMEOUT_S, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in address = {0};
  address.sin_family = AF_INET;
  address.sin_port = htons(to_port);
  inet_pton(AF_INET, host, &address.sin_addr);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int conn_read(struct conn *k, void *buffer, int length) {
  if (k->ssl) return SSL_read(k->ssl, buffer, length);
  return (int)read(k->fd, buffer, length);
}

static int conn_write_all(struct conn *k, const void *data, long length) {
  const char *at = data;
  while (length > 0) {
    int n = k->ssl ? SSL_write(k->ssl, at, (int)length) : (int)write(k->fd, at, length);
    if (n <= 0) return -1;
    at += n;
    length -= n;
  }
  return 0;
}

/* Reads one reply (multi-line ones whole); returns its code, or -1. */
static int read_reply(struct conn *k, char *text, int text_size) {
  int code = -1, multi = 0;
  for (;;) {
    char *end;
    while ((end = memchr(k->line, '\n', k->have)) == NULL) {
      if (k->have >= LINE_SIZE - 1) k->have = 0; /* an overlong line: keep its end only */
      int n = conn_read(k, k->line + k->have, LINE_SIZE - 1 - k->have);
      if (n <= 0) return -1;
      k->have += n;
    }
    int length = (int)(end - k->line) + 1;
    char line[LINE_SIZE];
    memcpy(line, k->line, length);
    line[length] = 0;
    memmove(k->line, k->line + length, k->have - length);
    k->have -= length;
    int is_code = length >= 4 && line[0] >= '1' && line[0] <= '5' && line[1] >= '0' &&
                  line[1] <= '9' && line[2] >= '0' && line[2] <= '9';
    if (code < 0) {
      if (!is_code) continue;
      code = atoi(line);
      multi = line[3] == '-';
      if (text) snprintf(text, text_size, "%s", line);
      if (!multi) return code;
    } else if (is_code && atoi(line) == code && line[3] == ' ') {
      return code;
    }
  }
}

static int command(struct conn *k, const char *line, char *text, int text_size) {
  char out[LINE_SIZE];
  int n = snprintf(out, sizeof out, "%s\r\n", line);
  if (conn_write_all(k, out, n) < 0) return -1;
  return read_reply(k, text, text_size);
}

static int start_tls(struct conn *k, SSL_SESSION *resume) {
  k->ssl = SSL_new(ctx);
  if (!k->ssl) return -1;
  SSL_set_fd(k->ssl, k->fd);
  if (resume) SSL_set_session(k->ssl, resume);
  return SSL_connect(k->ssl) == 1 ? 0 : -1;
}

/*
 * Closes a connection. A clean close sends close_notify, then FIN, and reads
 * until the server closes too: closing with unread bytes (TLS 1.3 session
 * tickets) makes the kernel send a reset and drop what it had not yet sent,
 * which cuts an upload short.
 */
static void conn_close(struct conn *k, int clean) {
  if (k->ssl) {
    if (clean) SSL_shutdown(k->ssl);
    SSL_free(k->ssl);
    k->ssl = NULL;
  }
  if (k->fd >= 0 && clean) {
    struct timeval limit = {.tv_sec = 10};
    setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    shutdown(k->fd, SHUT_WR);
    char sink[4096];
    while (read(k->fd, sink, sizeof sink) > 0) {
    }
  }
  if (k->fd >= 0) close(k->fd);
  k->fd = -1;
}

static int login(struct client *c) {
  struct conn *k = &c->control;
  char text[LINE_SIZE];
  k->fd = tcp_connect(port);
  if (k->fd < 0) return fail(c, "connect: %s", strerror(errno)), -1;
  int one = 1;
  setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (read_reply(k, text, sizeof text) != 220) return fail(c, "greeting: %s", text), -1;
  if (use_tls) {
    if (command(k, "AUTH TLS", text, sizeof text) != 234) return fail(c, "AUTH: %s", text), -1;
    if (start_tls(k, NULL) < 0) return fail(c, "control TLS handshake failed"), -1;
    if (command(k, "PBSZ 0", text, sizeof text) != 200) return fail(c, "PBSZ: %s", text), -1;
    if (command(k, "PROT P", text, sizeof text) != 200) return fail(c, "PROT: %s", text), -1;
  }
  char line[LINE_SIZE];
  snprintf(line, sizeof line, "USER %s", user);
  int code = command(k, line, text, sizeof text);
  if (code == 331) {
    snprintf(line, sizeof line, "PASS %s", password);
    code = command(k, line, text, sizeof text);
  }
  if (code != 230) return fail(c, "login: %s", text), -1;
  if (command(k, "TYPE I", text, sizeof text) != 200) return fail(c, "TYPE: %s", text), -1;
  return 0;
}

static long long transfer(struct client *c) {
  struct conn *k = &c->control;
  char text[LINE_SIZE], line[LINE_SIZE];
  if (command(k, "EPSV", text, sizeof text) != 229) return fail(c, "EPSV: %s", text), -1;
  char *open = strstr(text, "(|||");
  if (!open) return fail(c, "EPSV reply: %s", text), -1;
  struct conn data = {.fd = tcp_connect(atoi(open + 4))};
  if (data.fd < 0) return fail(c, "data connect: %s", strerror(errno)), -1;
  if (upload) snprintf(line, sizeof line, "STOR %s.%d", path, c->index);
  else snprintf(line, sizeof line, "RETR %s", path);
  int code = command(k, line, text, sizeof text);
  if (code != 150 && code != 125) {
    conn_close(&data, 0);
    return fail(c, "%s: %s", upload ? "STOR" : "RETR", text), -1;
  }
  if (use_tls) {
    SSL_SESSION *session = SSL_get1_session(k->ssl);
    int shaken = start_tls(&data, session);
    SSL_SESSION_free(session);
    if (shaken < 0) {
      conn_close(&data, 0);
      return fail(c, "data TLS handshake failed"), -1;
    }
  }
  long long moved = 0;
  if (upload) {
    while (moved < size) {
      long part = size - moved < BUFFER_SIZE ? (long)(size - moved) : BUFFER_SIZE;
      if (conn_write_all(&data, pattern, part) < 0) break;
      moved += part;
    }
    if (moved < size) fail(c, "data write failed after %lld bytes", moved);
  } else {
    char *buffer = malloc(BUFFER_SIZE);
    int n;
    while ((n = conn_read(&data, buffer, BUFFER_SIZE)) > 0) moved += n;
    free(buffer);
  }
  conn_close(&data, 1);
  code = read_reply(k, text, sizeof text);
  if (code != 226 && code != 250) return fail(c, "after transfer: %s", text), -1;
  if (!upload && moved != size) return fail(c, "RETR gave %lld of %lld bytes", moved, size), -1;
  return moved;
}

static void *run_client(void *argument) {
  struct client *c = argument;
  c->control.fd = -1;
  c->logged_in = login(c) == 0;
  pthread_barrier_wait(&start_barrier);
  long long moved = c->logged_in ? transfer(c) : -1;
  if (moved >= 0) {
    char text[LINE_SIZE];
    command(&c->control, "QUIT", text, sizeof text);
  }
  conn_close(&c->control, moved >= 0);
  pthread_mutex_lock(&lock);
  if (moved >= 0) {
    ok_count++;
    total_bytes += moved;
  } else {
    error_count++;
    if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s", c->error);
  }
  pthread_mutex_unlock(&lock);
  ERR_clear_error();
  return NULL;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000.0 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 9) {
    fprintf(stderr,
            "usage: transfer_load HOST PORT USER PASSWORD retr|stor PATH CLIENTS SIZE [--tls]\n");
    return 2;
  }
  host = argv[1];
  port = atoi(argv[2]);
  user = argv[3];
  password = argv[4];
  upload = strcmp(argv[5], "stor") == 0;
  path = argv[6];
  clients = atoi(argv[7]);
  size = atoll(argv[8]);
  use_tls = argc > 9 && strcmp(argv[9], "--tls") == 0;
  for (int i = 0; i < BUFFER_SIZE; i++) pattern[i] = (unsigned char)(i * 131 + 7);
  if (use_tls) {
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* the bench's self-signed certificate */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
  }
  pthread_barrier_init(&start_barrier, NULL, clients + 1);
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, 256 * 1024);
  struct client *all = calloc(clients, sizeof *all);
  pthread_t *threads = calloc(clients, sizeof *threads);
  for (int i = 0; i < clients; i++) {
    all[i].index = i;
    if (pthread_create(&threads[i], &attributes, run_client, &all[i]) != 0) {
      fprintf(stderr, "transfer_load: cannot start thread %d\n", i);
      return 1;
    }
  }
  pthread_barrier_wait(&start_barrier); /* every client is logged in (or failed) */
  double started = now_ms();
  for (int i = 0; i < clients; i++) pthread_join(threads[i], NULL);
  double ms = now_ms() - started;
  printf("{\"ok\":%d,\"errors\":%d,\"bytes\":%lld,\"ms\":%.0f,\"firstError\":\"", ok_count,
         error_count, total_bytes, ms);
  for (const char *p = first_error; *p; p++) {
    if (*p == '"' || *p == '\\') putchar('\\');
    if ((unsigned char)*p >= 32) putchar(*p);
  }
  printf("\"}\n");
  return 0;
}
