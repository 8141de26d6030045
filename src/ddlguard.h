/*-------------------------------------------------------------------------
 *
 * ddlguard.h
 *	  The DDL side of the append-only guard (README, "The guard"): the
 *	  checks the utility hook runs before every statement.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_DDLGUARD_H
#define EVLOG_DDLGUARD_H

#include "nodes/nodes.h"

extern void evlog_ddl_check(Node *parsetree);
extern void evlog_ddlguard_init(void);

#endif							/* EVLOG_DDLGUARD_H */
