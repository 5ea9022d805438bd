#include "parsers/event.h"

#include <string.h>

static const char *const kind_names[PS_EV_NKINDS] = {
	[PS_EV_OTHER] = "OTHER",
	[PS_EV_WRITE_READY] = "WRITE_READY",
	[PS_EV_EXAMINE] = "EXAMINE",
	[PS_EV_SCHEDULE] = "SCHEDULE",
	[PS_EV_RPC_SEND] = "RPC_SEND",
	[PS_EV_RPC_DONE] = "RPC_DONE",
	[PS_EV_REQUEUE] = "REQUEUE",
	[PS_EV_CLEAN] = "CLEAN",
	[PS_EV_WAKE] = "WAKE",
	[PS_EV_PASS] = "PASS",
};

/* Returns the design's name of an event kind. */
const char *
ps_ev_kind_name(enum ps_ev_kind k)
{
	if ((unsigned)k >= PS_EV_NKINDS)
		return "?";
	return kind_names[k];
}

/* Resets an event to "nothing known". */
void
ps_event_reset(struct ps_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->ts_us = INT64_MIN;
	ev->srcline = -1;
	ev->level = -1;
	ev->req.xid = -1;
	ev->req.opc = -1;
	ev->bmap.opcnt = -1;
	ev->outstanding = -1;
	ev->rpc_off = -1;
	ev->rpc_sz = -1;
	ev->rpc_rc = -1;
	ev->rpc_bno = -1;
	ev->wake_reason = -1;
	ev->thr = -1;
}
