/*-------------------------------------------------------------------------
 *
 * tableguard.h
 *	  The DDL side of the append-only guard on tables (README, "The
 *	  guard"): the checks on evlog.events, its indexes and guard triggers,
 *	  and the refusal every DDL check of evlog raises.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_TABLEGUARD_H
#define EVLOG_TABLEGUARD_H

#include "nodes/nodes.h"

extern void evlog_refuse_guard_ddl(const char *detail, const char *fmt,...) pg_attribute_printf(2, 3) pg_attribute_noreturn();
extern void evlog_table_ddl_check(Node *parsetree);

#endif							/* EVLOG_TABLEGUARD_H */
