/*
 * amvalidate for instsim_hnsw: an opclass has exactly one ordering operator
 * (strategy 1, returning float8) and its distance function as support 1.
 */
#include "postgres.h"

#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_type.h"
#include "utils/syscache.h"

#include "hnsw.h"

static void
complain(const char *opclassname, const char *what, int number)
{
	ereport(INFO,
			(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
			 errmsg("operator class \"%s\" of access method instsim_hnsw %s %d",
					opclassname, what, number)));
}

bool
hnsw_validate(Oid opclassoid)
{
	HeapTuple	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	Form_pg_opclass classform;
	CatCList   *procs;
	CatCList   *oprs;
	const char *name;
	bool		ok = true;
	int			nproc = 0;
	int			nopr = 0;

	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	name = NameStr(classform->opcname);

	procs = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(classform->opcfamily));
	for (int i = 0; i < procs->n_members; i++)
	{
		Form_pg_amproc proc = (Form_pg_amproc) GETSTRUCT(&procs->members[i]->tuple);

		if (proc->amprocnum != HNSW_DISTANCE_PROC)
		{
			complain(name, "has invalid support function number", proc->amprocnum);
			ok = false;
		}
		else if (!check_amproc_signature(proc->amproc, FLOAT8OID, true, 2, 2,
										 classform->opcintype, classform->opcintype))
		{
			complain(name, "has a distance function with the wrong signature, number", proc->amprocnum);
			ok = false;
		}
		else
			nproc++;
	}

	oprs = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(classform->opcfamily));
	for (int i = 0; i < oprs->n_members; i++)
	{
		Form_pg_amop op = (Form_pg_amop) GETSTRUCT(&oprs->members[i]->tuple);

		if (op->amopstrategy != 1 || op->amoppurpose != AMOP_ORDER)
		{
			complain(name, "supports only one ORDER BY operator, not strategy", op->amopstrategy);
			ok = false;
		}
		else if (!check_amop_signature(op->amopopr, FLOAT8OID,
									   op->amoplefttype, op->amoprighttype))
		{
			complain(name, "has an operator with the wrong signature, strategy", op->amopstrategy);
			ok = false;
		}
		else
			nopr++;
	}
	if (nproc != 1 || nopr != 1)
	{
		complain(name, "needs one distance function and one operator, found", nproc + nopr);
		ok = false;
	}

	ReleaseCatCacheList(oprs);
	ReleaseCatCacheList(procs);
	ReleaseSysCache(classtup);
	return ok;
}
