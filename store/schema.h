/*
 * store/schema.h: private to store/.  The ONE description of the database
 * schema (tables, columns, types, keys, indexes, views, per version), from
 * which each backend renders its DDL: a new database gets the current
 * schema, an older one the steps from its version on.
 *
 * Rules of the description (store/schema.c):
 *  - every table, column and index says the version that added it (since)
 *    and, for a table, the version that dropped it (until, 0 = alive);
 *  - a column added after its table is listed after the table's other
 *    columns, so a migrated table has the column order of a new one;
 *  - a step runs SQL between a version's additions and its drops (data
 *    moved from a dropped table);
 *  - views are derived: a migration drops them all and creates the
 *    current ones.  Their SQL is written once, with HEX(x) and ADDR(x)
 *    for the hexadecimal renderings each dialect spells its own way.
 */
#ifndef FS_STORE_SCHEMA_H
#define FS_STORE_SCHEMA_H

/* The SQL dialects the schema is rendered into. */
enum st_dialect {
	ST_SQLITE = 0,
	ST_PG = 1
};

/*
 * The SQL taking a database from schema version from (0 = empty) to
 * ST_SCHEMA_VERSION, statements separated by ";\n"; malloc'd, NULL when
 * out of memory.
 */
char *st_schema_sql(enum st_dialect d, int from);

/* The names of every view any version had (to drop them before a migration). */
extern const char *const st_schema_views[];

#endif
