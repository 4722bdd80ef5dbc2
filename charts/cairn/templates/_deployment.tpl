{{/*
One controller Deployment. The main one (shard "") is deploy/'s; each shard of
sharding.shards gets its own with its selector and Lease. Parameters: root (the chart's
context), name, shard, selectorLabels (a YAML string), selector, leaseName.
*/}}
{{- define "cairn.deployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "cairn.labels" $root | nindent 4 }}
    {{- with .shard }}
    sharding.cairn.dev/shard: {{ . | quote }}
    {{- end }}
spec:
  replicas: {{ $root.Values.replicas }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- .selectorLabels | nindent 6 }}
  template:
    metadata:
      labels:
        {{- .selectorLabels | nindent 8 }}
        {{- with $root.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $root.Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "cairn.fullname" $root }}
      # Longer than the controller's shutdown bound, so SIGTERM can drain reconciles and
      # release the lease before the kubelet kills the process.
      terminationGracePeriodSeconds: {{ add (int $root.Values.shutdownTimeoutSeconds) 15 }}
      {{- with $root.Values.priorityClassName }}
      priorityClassName: {{ . | quote }}
      {{- end }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- range . }}
        - name: {{ . | quote }}
        {{- end }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      containers:
        - name: controller
          image: {{ include "cairn.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          # Inside the pod the listeners take every interface; only the Service and the kubelet
          # reach them.
          args:
            - --metrics-addr=0.0.0.0:{{ $root.Values.metrics.port }}
            - --health-addr=0.0.0.0:{{ $root.Values.health.port }}
            - --leader-elect={{ $root.Values.leaderElection.enabled }}
            - --lease-name={{ .leaseName }}
            - --lease-duration-seconds={{ $root.Values.leaderElection.leaseDurationSeconds }}
            - --renew-deadline-seconds={{ $root.Values.leaderElection.renewDeadlineSeconds }}
            - --retry-period-seconds={{ $root.Values.leaderElection.retryPeriodSeconds }}
            - --log-level={{ $root.Values.logLevel }}
            - --workers={{ $root.Values.workers }}
            - --allow-cross-namespace-refs={{ $root.Values.allowCrossNamespaceRefs }}
            - --shutdown-timeout-seconds={{ $root.Values.shutdownTimeoutSeconds }}
            - --max-auto-upgrades={{ $root.Values.maxAutoUpgrades }}
            {{- with .selector }}
            - {{ printf "--watch-label-selector=%s" . | quote }}
            {{- end }}
            {{- with $root.Values.eventsAddr }}
            - {{ printf "--events-addr=%s" . | quote }}
            {{- end }}
            {{- range $root.Values.extraArgs }}
            - {{ . | quote }}
            {{- end }}
          env:
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            {{- $heap := include "cairn.heapMiB" $root }}
            {{- $ownNodeOptions := false }}
            {{- range $root.Values.extraEnv }}{{ if eq .name "NODE_OPTIONS" }}{{ $ownNodeOptions = true }}{{ end }}{{ end }}
            {{- if not $ownNodeOptions }}
            - name: NODE_OPTIONS
              value: {{ printf "%s--max-semi-space-size=4" (ternary (printf "--max-old-space-size=%s " $heap) "" (ne $heap "")) | quote }}
            {{- end }}
            {{- with $root.Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            - name: metrics
              containerPort: {{ $root.Values.metrics.port }}
              protocol: TCP
            - name: health
              containerPort: {{ $root.Values.health.port }}
              protocol: TCP
          livenessProbe:
            httpGet:
              path: /healthz
              port: health
            initialDelaySeconds: 10
            periodSeconds: 20
            timeoutSeconds: 5
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /readyz
              port: health
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          resources:
            {{- toYaml $root.Values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            # HOME, TMPDIR and Git checkouts: the only writable place in the container.
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ $root.Values.tmpSizeLimit }}
      {{- with $root.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
