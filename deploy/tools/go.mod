module corral/deploy/tools/k8s-schemas

go 1.24
