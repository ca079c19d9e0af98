"""What client.py and profile_client.py send: the benchmark's query vectors
(the text form, from the second column of QUERIES.tsv) and the top-10
statement, so that the profiled load is the measured one."""


def read_queries(qfile):
    with open(qfile) as f:
        return [line.rstrip('\n').split('\t')[1] for line in f]


def knn_sql(table):
    return f'SELECT id FROM {table} ORDER BY emb <=> %s LIMIT 10'
