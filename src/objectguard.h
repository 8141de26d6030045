/*-------------------------------------------------------------------------
 *
 * objectguard.h
 *	  The DDL side of the append-only guard on evlog's own objects (README,
 *	  "The guard"): the checks the utility hook runs before every statement
 *	  (those of tableguard.c among them), and evlog.allow_drop.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_OBJECTGUARD_H
#define EVLOG_OBJECTGUARD_H

#include "nodes/nodes.h"

extern void evlog_ddl_check(Node *parsetree);
extern void evlog_objectguard_init(void);

#endif							/* EVLOG_OBJECTGUARD_H */
