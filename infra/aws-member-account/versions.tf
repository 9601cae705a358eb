terraform {
  required_version = ">= 1.11"
  required_providers {
    # >= 6.0: resources take a `region` argument (enhanced region support), so one module covers every region
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.28"
    }
  }
}
