from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator
from airflow.contrib.kubernetes.secret import Secret
secret_env = Secret('env', 'API_TOKEN', 'api-secrets', 'token')
volume_mount = VolumeMount('work', mount_path='/work', sub_path=None, read_only=False)
volume = Volume(name='work', configs={'hostPath': {'path': '/srv/work'}})
k = KubernetesPodOperator(namespace='default',
                          image="ubuntu:20.04",
                          cmds=["bash", "-c"],
                          arguments=["ls", "-la", "/work"],
                          secrets=[secret_env],
                          volumes=[volume],
                          volume_mounts=[volume_mount],
                          name="snippet",
                          task_id="snippet",
                          is_delete_operator_pod=True)
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
