/* Networks and the addresses webhooks may not reach. No libcurl here, so
 * that programs that only read configurations do not load it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alloc.h"
#include "http.h"

/* ---- address rules ---- */

struct net {
	int family;
	unsigned char addr[16];
	int prefix;
};

struct pca_netlist {
	struct net *nets;
	size_t n;
};

static bool
in_net(const unsigned char *a, const struct net *n)
{
	int full = n->prefix / 8, rest = n->prefix % 8;

	if (memcmp(a, n->addr, (size_t)full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ n->addr[full]) & (0xff << (8 - rest))) == 0;
}

static int
parse_net(const char *s, struct net *n)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	int max;
	char *end;
	long p;

	if (hl == 0 || hl >= sizeof host)
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(n, 0, sizeof *n);
	if (inet_pton(AF_INET, host, n->addr) == 1)
		n->family = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, host, n->addr) == 1)
		n->family = AF_INET6, max = 128;
	else
		return -1;
	n->prefix = max;
	if (slash) {
		errno = 0;
		p = strtol(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1 || p < 0 || p > max)
			return -1;
		n->prefix = (int)p;
	}
	return 0;
}

struct pca_netlist *
pca_netlist_parse(char *const *cidrs, size_t n, struct pca_err *err)
{
	struct pca_netlist *l = pca_calloc(1, sizeof *l);

	l->nets = pca_calloc(n ? n : 1, sizeof *l->nets);
	for (size_t i = 0; i < n; i++) {
		if (parse_net(cidrs[i], &l->nets[i]) < 0) {
			pca_err_set(err, "\"%s\" is not a network (like 10.0.0.0/8 or fd00::/8)", cidrs[i]);
			pca_netlist_free(l);
			return NULL;
		}
	}
	l->n = n;
	return l;
}

void
pca_netlist_free(struct pca_netlist *l)
{
	if (!l)
		return;
	free(l->nets);
	free(l);
}

/* Networks no webhook may reach unless allowed: private, shared,
 * loopback, link-local, documentation, benchmarking, multicast, reserved. */
static const char *const blocked_v4[] = {
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
	"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
};
static const char *const blocked_v6[] = {
	"::/96", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23",
	"2001:db8::/32", "2002::/16", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
	"fec0::/10", "ff00::/8",
};

static bool
listed(const unsigned char *a, int family, const char *const *list, size_t n)
{
	struct net net;

	for (size_t i = 0; i < n; i++)
		if (parse_net(list[i], &net) == 0 && net.family == family && in_net(a, &net))
			return true;
	return false;
}

static bool
allowed_by(const struct pca_netlist *l, const unsigned char *a, int family)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (l->nets[i].family == family && in_net(a, &l->nets[i]))
			return true;
	return false;
}

bool
pca_http_address_blocked(const struct sockaddr *sa, const struct pca_http_opts *o)
{
	unsigned char a[16];
	int family = sa->sa_family;

	if (o->allow_private)
		return false;
	if (family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		/* ::ffff:a.b.c.d is an IPv4 address in disguise. */
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(a, mapped, 12) == 0) {
			memmove(a, a + 12, 4);
			family = AF_INET;
		}
	} else {
		return true;
	}
	if (allowed_by(o->allow, a, family))
		return false;
	if (family == AF_INET)
		return listed(a, family, blocked_v4, sizeof blocked_v4 / sizeof *blocked_v4);
	return listed(a, family, blocked_v6, sizeof blocked_v6 / sizeof *blocked_v6);
}

