"""airkube: run Apache Airflow 3 on Kubernetes with the KubernetesExecutor."""
